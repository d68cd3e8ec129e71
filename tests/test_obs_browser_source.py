"""`vtube-plugin obs setup --browser-source` against a real OBS Studio (headless): Debian's OBS build, the one our
tests run, has no Browser Source, so the command must say where to get one and create nothing.

Needs `apt-get install obs-studio xvfb`; skipped only where `obs` is missing.
"""

from __future__ import annotations

from obs_calls import PASSWORD, call, needs_obs

from vtube_plugin import cli
from vtube_plugin.obs.browser_source import BROWSER_KIND
from vtube_plugin.sinks.browser import SOURCE_NAME

pytestmark = needs_obs


def test_an_obs_without_browser_source_is_told_where_to_get_one_and_nothing_is_created(
        obs, tmp_path, monkeypatch, capsys):
    kinds = call(obs, "GetInputKindList", {"unversioned": True})["inputKinds"]
    assert BROWSER_KIND not in kinds, "this OBS has a Browser Source: the test expects Debian's build"
    presets = tmp_path / "expressions.toml"
    presets.write_text("[happy]\npose = { mouth_aaa = 1.0 }\n")
    monkeypatch.setenv("OBS_PASSWORD", PASSWORD)
    monkeypatch.setenv("VTUBE_PLUGIN_CONFIG", str(tmp_path / "config"))
    monkeypatch.setattr(cli, "COMMANDS", ["obs"])  # only our command: others may not be merged

    code = cli.main(["obs", "setup", "--browser-source", "--expressions", str(presets),
                     "--obs-host", "127.0.0.1", "--obs-port", str(obs.port)])
    out = capsys.readouterr()
    said = out.out + out.err
    assert code == 2
    assert "error: this OBS has no Browser Source" in said
    for where in ("https://obsproject.com", "ppa:obsproject/obs-studio",
                  "flatpak install flathub com.obsproject.Studio"):
        assert where in said
    assert "Traceback" not in said and PASSWORD not in said
    # Told before anything was made: no expression scene, no half-made source.
    scenes = [s["sceneName"] for s in call(obs, "GetSceneList")["scenes"]]
    assert scenes == ["Main"]
    assert SOURCE_NAME not in [i["inputName"] for i in call(obs, "GetInputList")["inputs"]]

