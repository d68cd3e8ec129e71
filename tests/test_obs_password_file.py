"""Where the OBS password may come from without showing in `ps`, and OBS that accepts a connection and never
answers (a plain TCP listener: the handshake itself hangs) is reported and retried, never waited on."""

from __future__ import annotations

import socket
import time

import pytest

from vtube_plugin.cli import build_parser
from vtube_plugin.errors import UserError
from vtube_plugin.expressions.layer import ExpressionLayer, parse_presets
from vtube_plugin.obs.settings import ObsSettings, resolve_settings


@pytest.fixture(autouse=True)
def no_user_config(tmp_path, monkeypatch):
    monkeypatch.setenv("VTUBE_PLUGIN_CONFIG", str(tmp_path / "config"))  # no obs.toml of the user's in the way


def test_the_password_comes_from_a_file_given_or_named_in_the_environment(tmp_path):
    path = tmp_path / "pw"
    path.write_text(" s3cret with spaces \nsecond line ignored\n")
    assert resolve_settings(password_file=path, env={}).password == " s3cret with spaces "
    assert resolve_settings(env={"OBS_PASSWORD_FILE": str(path)}).password == " s3cret with spaces "
    # The option beats the file, and OBS_PASSWORD beats OBS_PASSWORD_FILE (both are the environment).
    assert resolve_settings(password="typed", password_file=path, env={}).password == "typed"
    assert resolve_settings(env={"OBS_PASSWORD": "env", "OBS_PASSWORD_FILE": str(path)}).password == "env"
    assert "s3cret" not in repr(resolve_settings(password_file=path, env={}))


def test_a_missing_or_empty_password_file_is_a_clear_error(tmp_path):
    with pytest.raises(UserError, match="OBS password file not found: .*nope"):
        resolve_settings(password_file=tmp_path / "nope", env={})
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(UserError, match="OBS password file .*empty is empty; write the password on its first line"):
        resolve_settings(password_file=tmp_path / "empty", env={})


def test_help_says_the_password_option_shows_in_the_process_list():
    parser = build_parser()
    text = parser._subparsers._group_actions[0].choices["run"].format_help()  # the run command's --help
    flat = " ".join(text.split())
    assert "--obs-password-file FILE" in text
    assert "every user of this PC can read it in the process list (ps)" in flat
    with pytest.raises(SystemExit) as stop:
        parser.parse_args(["run", "--obs-password", "a", "--obs-password-file", "b"])
    assert stop.value.code == 2


def test_an_obs_that_accepts_and_never_answers_is_reported_and_retried():
    from vtube_plugin.obs import ObsController

    with socket.socket() as frozen:
        frozen.bind(("127.0.0.1", 0))
        frozen.listen(8)  # the kernel completes every connection; nobody ever reads or writes
        port = frozen.getsockname()[1]
        said: list[str] = []
        layer = ExpressionLayer(parse_presets({"happy": {"pose": {"eye_happy_wink_left": 1.0}}}))
        controller = ObsController(layer, ObsSettings("127.0.0.1", port, "", 1.0),
                                   say=said.append, first_delay=0.2, max_delay=0.2)
        started = time.monotonic()
        with controller:
            assert controller.wait_for("not-running", 10), said
            noticed = time.monotonic() - started
        closed = time.monotonic() - started
    assert noticed < 5 and closed < 10  # one handshake timeout (1 s here) each, never a hang
    assert said[0].startswith(f"OBS: OBS is not reachable at 127.0.0.1:{port}") and "retrying in 0.2s" in said[0]
