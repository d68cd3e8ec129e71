"""Every port a user types is checked one way: 1-65535 (0 where it means off or "pick one"), a message that
names the option, exit 2. Before, `--source vmc:port=99999` silently listened on 34463."""

from __future__ import annotations

import pytest

from vtube_plugin import cli
from vtube_plugin.errors import UserError
from vtube_plugin.obs.settings import resolve_settings
from vtube_plugin.sources import open_source
from vtube_plugin.sources.vmc import VmcSource


def run_cli(argv, capsys) -> tuple[int, str]:
    try:
        code = cli.main(argv)
    except SystemExit as stop:  # argparse's own errors
        code = stop.code
    return code, capsys.readouterr().err


@pytest.mark.parametrize("spec", ["vmc:port=99999", "vmc:port=65536", "vmc:port=-1", "ifacialmocap:port=70000",
                                  "ifacialmocap:phone_port=0"])
def test_a_source_port_out_of_range_exits_2_naming_the_option(spec, capsys):
    code, err = run_cli(["run", "--source", spec, "--max-frames", "1"], capsys)
    option, value = spec.split(":")[1].split("=")
    assert code == 2
    assert f"{option}={value} is not a port number" in err and "65535" in err
    assert "address" not in err and "Traceback" not in err


@pytest.mark.parametrize(("argv", "option"), [
    (["run", "--source", "vmc", "--port", "99999"], "--port"),
    (["run", "--control-port", "65536"], "--control-port"),
    (["run", "--obs-port", "0"], "--obs-port"),
    (["expression", "happy", "--control-port", "0"], "--control-port"),
    (["poser", "--port", "-1"], "--port"),
    (["obs", "setup", "--obs-port", "port"], "--obs-port"),
])
def test_every_port_option_exits_2_with_a_message_naming_it(argv, option, capsys):
    code, err = run_cli(argv, capsys)
    assert code == 2
    assert f"argument {option}: " in err and "is not a port number" in err


def test_obs_port_from_the_environment_is_checked_the_same_way(tmp_path, monkeypatch):
    monkeypatch.setenv("VTUBE_PLUGIN_CONFIG", str(tmp_path))  # no obs.toml of the user's in the way
    with pytest.raises(UserError, match=r"OBS_PORT: the OBS port 99999 is not a port number \(1-65535\)"):
        resolve_settings(env={"OBS_PORT": "99999"})


def test_the_limits_themselves_are_ports():
    assert open_source("vmc:port=65535").port == 65535
    assert open_source("ifacialmocap:phone_port=1").phone_port == 1
    assert VmcSource(port=0).port == 0  # 0: the OS picks a free port (what the tests use)
    with pytest.raises(ValueError, match="port=65536 is not a port number"):
        VmcSource(port=65536)
