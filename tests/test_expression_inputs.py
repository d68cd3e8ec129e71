"""Ways to switch expressions without OBS: the 127.0.0.1 control channel, console lines, key chords,
the options the run loop adds, and where OBS settings come from."""

from __future__ import annotations

import argparse
import io
import socket
import sys

import pytest

from vtube_plugin import cli
from vtube_plugin.cli.expression_options import add_expression_options, expression_layer_from_args
from vtube_plugin.errors import UserError
from vtube_plugin.expressions.control import ControlServer, execute, send_command, typed_lines
from vtube_plugin.expressions.keys import KeyChords, parse_chord
from vtube_plugin.expressions.layer import ExpressionLayer, parse_presets
from vtube_plugin.live.console import ConsoleCommands
from vtube_plugin.obs.settings import ObsSettings, resolve_settings

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PRESETS = """
[happy]
key = "ctrl+alt+1"
pose = { mouth_raised_corner = 1.0 }

[peek]
mode = "hold"
key = "Ctrl_R+P"
pose = { iris_rotation_x = 0.8 }

[wow]
mode = "one-shot"
duration = 1.0
pose = { eye_surprised = 1.0 }
"""


@pytest.fixture
def layer() -> ExpressionLayer:
    return ExpressionLayer(parse_presets(tomllib.loads(PRESETS)))


def run_cli(argv, monkeypatch, capsys):
    monkeypatch.setattr(cli, "COMMANDS", ["expression", "obs"])
    code = cli.main(argv)
    out = capsys.readouterr()
    return code, out.out + out.err


def test_the_expression_command_reaches_a_running_control_server(layer, monkeypatch, capsys):
    with ControlServer(layer, port=0) as server:
        port = str(server.port)
        assert run_cli(["expression", "happy", "--control-port", port], monkeypatch, capsys) == (0, "happy on\n")
        assert layer.active() == ["happy"]
        assert run_cli(["expression", "happy", "--release", "--control-port", port], monkeypatch, capsys) == \
            (0, "happy off\n")
        assert run_cli(["expression", "happy", "--toggle", "--control-port", port], monkeypatch, capsys) == \
            (0, "happy on\n")
        code, out = run_cli(["expression", "list", "--control-port", port], monkeypatch, capsys)
        assert code == 0 and out == "active: happy; expressions: happy peek wow\n"
        code, out = run_cli(["expression", "grumpy", "--control-port", port], monkeypatch, capsys)
        assert code == 2 and out == "error: unknown expression 'grumpy'; known: happy, peek, wow\n"


def test_the_expression_command_says_when_nothing_listens(monkeypatch, capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: connections are refused
        code, out = run_cli(["expression", "happy", "--control-port", str(port)], monkeypatch, capsys)
    assert code == 2
    assert f"nothing is listening on 127.0.0.1:{port}: start `vtube-plugin run` first" in out


def test_a_taken_control_port_is_a_clear_error(layer):
    with ControlServer(layer, port=0) as server:
        with pytest.raises(UserError, match=f"cannot listen .* 127.0.0.1:{server.port}.*--control-port"):
            ControlServer(layer, port=server.port)


def test_a_raw_line_protocol_client_gets_one_line_answers(layer):
    with ControlServer(layer, port=0) as server:
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(f"secret {server.secret_file.read_text().strip()}\n".encode())
            sock.sendall(b"expression wow trigger\nfrobnicate now please\n")
            answers = sock.makefile("r")
            answers = answers.readline(), answers.readline()
    assert answers[0] == "ok wow on\n"
    assert answers[1].startswith("error cannot read 'frobnicate now please'")


def test_console_lines_press_expressions(layer):
    out = io.StringIO()
    console = ConsoleCommands(stream=io.StringIO("happy\n\npeek\npeek\nwow release\nsad\n"),
                              other=typed_lines(layer, out))
    console._read()  # what the input thread does with each line typed
    answers = out.getvalue().splitlines()
    assert answers == ["ok happy on", "ok peek on", "ok peek off", "ok wow off",
                       "error unknown expression 'sad'; known: happy, peek, wow"]
    assert execute(layer, "release-all") == "ok all released" and layer.active() == []


def test_key_chords_toggle_press_and_hold(layer):
    keys = KeyChords(layer)
    assert parse_chord("Ctrl_R+P") == {"ctrl", "p"}
    for key in ("ctrl_l", "alt", "1"):
        keys.key_down(key)
    keys.key_down("1")  # auto-repeat: no second press
    assert layer.active() == ["happy"]
    keys.key_up("1")
    keys.key_up("alt")
    keys.key_up("ctrl_l")
    assert layer.active() == ["happy"]  # a toggle stays on after the keys come up
    keys.key_down("ctrl_r")
    keys.key_down("p")
    assert layer.active() == ["happy", "peek"]  # hold: on while down
    keys.key_up("p")
    assert layer.active() == ["happy"]
    keys.key_up("ctrl_r")


def test_the_run_loop_gets_a_layer_with_its_inputs_from_two_lines(tmp_path, layer, capsys):
    presets = tmp_path / "expressions.toml"
    presets.write_text(PRESETS)
    parser = argparse.ArgumentParser()
    add_expression_options(parser)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = parser.parse_args(["--expressions", str(presets), "--control-port", str(port), "--keys", "off"])
    with expression_layer_from_args(args) as run_layer:
        assert send_command("expression happy", port) == "ok happy on"
        assert run_layer.is_active("happy")


def test_keyboard_keys_without_a_display_are_a_clear_error(tmp_path, monkeypatch):
    if "pynput.keyboard" in sys.modules:
        pytest.skip("pynput is already loaded in this process with a display")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    presets = tmp_path / "expressions.toml"
    presets.write_text(PRESETS)
    parser = argparse.ArgumentParser()
    add_expression_options(parser)
    args = parser.parse_args(["--expressions", str(presets), "--control-port", "0", "--keys", "keyboard"])
    with pytest.raises(UserError, match="keyboard hotkeys are not available here.*--keys console"):
        expression_layer_from_args(args)


def test_obs_settings_come_from_options_then_environment_then_our_file(tmp_path):
    config = tmp_path / "obs.toml"
    config.write_text('[obs]\nhost = "studio.local"\nport = 4460\npassword = "from-file"\n')
    assert resolve_settings(config=config, env={}) == ObsSettings("studio.local", 4460, "from-file")
    env = {"OBS_HOST": "10.0.0.2", "OBS_PORT": "4470", "OBS_PASSWORD": "from-env"}
    assert resolve_settings(config=config, env=env) == ObsSettings("10.0.0.2", 4470, "from-env")
    assert resolve_settings(host="127.0.0.1", port="4480", password="opt", config=config, env=env) == \
        ObsSettings("127.0.0.1", 4480, "opt")
    assert "from-file" not in repr(resolve_settings(config=config, env={}))
    with pytest.raises(UserError, match="OBS_PORT: the OBS port http is not a port number"):
        resolve_settings(config=config, env={"OBS_PORT": "http"})
    config.write_text('port = 4455\npasword = "x"\n')
    with pytest.raises(UserError, match="unknown setting.*pasword"):
        resolve_settings(config=config, env={})
    with pytest.raises(UserError, match="OBS settings file not found"):
        resolve_settings(config=tmp_path / "missing.toml", env={})
