"""The one command interface of a running session (live/commands.py): each change applies live, without a
restart, in a real session (OpenVINO fp32 on the CPU, the real weights) driven by real UDP, a real sound device
and a real video file; what the user set is saved and restored at the next start."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time

import av
import numpy as np
import pytest
from pulse_sink import null_sink  # noqa: F401 - a fixture
from speech import SENTENCE, speak
from udp_sender import free_udp_port, vmc_open_mouth

from vtube_plugin.audio.vowels import VOWELS
from vtube_plugin.errors import UserError
from vtube_plugin.expressions.presets import load_presets
from vtube_plugin.live.commands import COMMANDS, SessionCommands, check_payload, start_session
from vtube_plugin.live.expression_inputs import ExpressionSettings
from vtube_plugin.live.saved_settings import load_saved_settings
from vtube_plugin.live.session import LiveConfig
from vtube_plugin.render.settings import RenderSettings

PRESETS = """
[happy]
key = "ctrl+alt+1"
pose = { mouth_aaa = 1.0, eye_happy_wink = 1.0 }
fade_in = 0.0
fade_out = 0.0
"""
RENDER = RenderSettings(engine="openvino", precision="fp32")  # named: never what `auto` picks on this CPU


class NewestFrame:
    """An output of the caller's (what the studio's preview is): keeps the newest frame."""

    fps = 20.0

    def __init__(self):
        self.newest = None
        self.count = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass

    def send(self, rgba):
        self.newest, self.count = rgba, self.count + 1


def wait_for(condition, timeout=30.0, what="the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def poses(path):
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    return [json.loads(line) for line in text.split("\n")[:-1] if line]


def poses_after(path, count):
    return poses(path)[count:]


@pytest.fixture(scope="module")
def studio(tmp_path_factory, tha3_weights_dir):
    folder = tmp_path_factory.mktemp("studio")
    config_dir = folder / "config"
    old = os.environ.get("VTUBE_PLUGIN_CONFIG")
    os.environ["VTUBE_PLUGIN_CONFIG"] = str(config_dir)
    (folder / "presets.toml").write_text(PRESETS, encoding="utf-8")
    base = LiveConfig(outputs=(), fps=20.0, idle="off", render=RENDER, record_poses=str(folder / "poses.jsonl"),
                      expressions=ExpressionSettings(presets=str(folder / "presets.toml"), control_port=0, keys="off"),
                      virtualcam_backend="vtube-session-test")
    sink = NewestFrame()
    commands, stop = start_session(sinks=[sink], base=base)
    events: list[dict] = []
    commands.subscribe(events.append)
    session = {"commands": commands, "stop": stop, "sink": sink, "poses": folder / "poses.jsonl", "folder": folder,
               "base": base, "events": events, "config": config_dir}
    try:
        yield session
    finally:
        try:
            session["stop"]()  # the session running now: a test that restarts it puts its new stop here
        except UserError:
            pass
        if old is None:
            os.environ.pop("VTUBE_PLUGIN_CONFIG", None)
        else:
            os.environ["VTUBE_PLUGIN_CONFIG"] = old


# --- the vocabulary -------------------------------------------------------------------------------
@pytest.mark.parametrize("type, data, said", [
    ("dance", {}, "unknown command 'dance'"),
    ("set_idle", {}, "set_idle: on is missing"),
    ("set_idle", {"on": "yes"}, "set_idle: on must be true or false"),
    ("set_expression", {"name": "happy", "action": "wink"}, "is not one of trigger, release, toggle, press"),
    ("set_source", {"source": "vmc", "colour": 3}, "unknown field 'colour'"),
    ("set_output", {"output": "fax", "on": True}, "output 'fax' is not one of virtualcam, vmc_out"),
    ("set_character", {"path": "x" * 5000}, "longer than 4096"),
    ("set_lip_sync", [1, 2], "the payload must be an object"),
])
def test_a_bad_command_or_payload_is_a_sentence(type, data, said):
    with pytest.raises(UserError, match=said.replace("(", r"\(")):
        check_payload(type, data)


def test_a_command_the_session_cannot_apply_says_so_and_changes_nothing():
    class OnlyState:
        def state(self):
            return {key: None for key in ("idle",)}

    commands = SessionCommands(OnlyState())
    with pytest.raises(UserError, match="set_idle: this session cannot do that"):
        commands.run("set_idle", {"on": True})
    assert set(COMMANDS) >= {"set_expression", "clear_expressions", "calibrate", "reset_calibration", "stop",
                             "set_source", "set_profile", "set_idle", "set_lip_sync", "set_character",
                             "start_recording", "stop_recording", "set_output", "set_mirror"}


# --- live changes ---------------------------------------------------------------------------------
def test_switching_from_none_to_vmc_while_a_phone_sends_an_open_mouth_opens_the_rendered_mouth(studio):
    commands, path = studio["commands"], studio["poses"]
    assert commands.state()["source"]["name"] == "none"
    port = free_udp_port()
    with vmc_open_mouth(port):
        before = len(poses(path))
        assert all(r["pose"]["mouth_aaa"] == 0.0 for r in poses(path)[-5:])
        answer = commands.run("set_source", {"source": "vmc", "options": {"port": port, "host": "127.0.0.1"}})
        assert answer["source"]["name"] == "vmc" and answer["source"]["options"]["port"] == port
        opened = wait_for(lambda: [r for r in poses_after(path, before) if r["pose"]["mouth_aaa"] > 0.9],
                          what="an open mouth in the rendered poses")
        assert opened[0]["tracking"]
        state = commands.state()["source"]
        assert state["state"] == "tracking" and state["sender"].startswith("127.0.0.1:") and state["packets"] > 0
        assert any(e["type"] == "source" and e["data"]["name"] == "vmc" for e in studio["events"])
    commands.run("set_source", {"source": "none"})
    assert commands.state()["source"]["name"] == "none"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as again:  # the old source let its port go
        again.bind(("127.0.0.1", port))


def test_a_source_that_cannot_start_is_said_and_the_stream_goes_on(studio):
    commands = studio["commands"]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as busy:
        busy.bind(("127.0.0.1", 0))
        with pytest.raises(UserError, match="vmc"):
            commands.run("set_source", {"source": "vmc", "options": {"port": busy.getsockname()[1],
                                                                      "host": "127.0.0.1"}})
    assert commands.state()["source"]["name"] == "none"
    count = studio["sink"].count
    wait_for(lambda: studio["sink"].count > count + 3, what="frames after the refused switch")


def test_an_expression_changes_the_picture_and_clear_brings_it_back(studio):
    commands, sink, path = studio["commands"], studio["sink"], studio["poses"]
    first = poses(path)[0]["pose"]  # the neutral pose the session began with (no tracking)
    wait_for(lambda: all(r["pose"] == first for r in poses(path)[-3:]), what="the neutral pose")
    time.sleep(0.5)  # its picture has reached the output
    neutral = sink.newest.copy()
    answer = commands.run("set_expression", {"name": "happy", "action": "trigger"})
    assert answer == {"expressions": {"presets": [{"name": "happy", "hotkey": "ctrl+alt+1"}], "active": ["happy"]}}
    before = len(poses(path))
    wait_for(lambda: [r for r in poses_after(path, before) if r["pose"]["eye_happy_wink_left"] == 1.0],
             what="the happy pose")
    wait_for(lambda: np.abs(sink.newest.astype(int) - neutral).max() > 40, what="a changed picture")
    assert {"type": "expressions", "data": answer["expressions"]} in studio["events"]
    commands.run("clear_expressions")
    assert commands.state()["expressions"]["active"] == []
    wait_for(lambda: all(r["pose"] == first for r in poses(path)[-3:]), what="the neutral pose again")
    wait_for(lambda: np.abs(sink.newest.astype(int) - neutral).max() <= 2, what="the neutral picture again")


def test_a_preset_made_from_sliders_shows_over_the_face_and_is_saved_into_the_expressions_file(studio):
    commands, sink, path = studio["commands"], studio["sink"], studio["poses"]
    first = poses(path)[0]["pose"]
    wait_for(lambda: all(r["pose"] == first for r in poses(path)[-3:]), what="the neutral pose")
    time.sleep(0.5)
    neutral = sink.newest.copy()
    assert commands.run("set_draft", {"pose": {"mouth_ooo": 1.0}}) == {"draft": {"pose": {"mouth_ooo": 1.0}}}
    before = len(poses(path))
    wait_for(lambda: [r for r in poses_after(path, before) if r["pose"]["mouth_ooo"] == 1.0], what="the slider's pose")
    wait_for(lambda: np.abs(sink.newest.astype(int) - neutral).max() > 40, what="a changed picture")
    with pytest.raises(UserError, match="nose"):
        commands.run("set_draft", {"pose": {"nose": 1.0}})
    for name, said in (("Big Grin", "lowercase letters"), ("happy", "already"), ("pout", "a hotkey is keys")):
        with pytest.raises(UserError, match=said):
            commands.run("save_preset", {"name": name, "key": 'x"' if name == "pout" else "ctrl+alt+9"})
    assert commands.state()["draft"] == {"pose": {"mouth_ooo": 1.0}}  # refused: nothing changed

    answer = commands.run("save_preset", {"name": "pout", "key": "ctrl+alt+9"})
    assert answer["expressions"]["presets"][-1] == {"name": "pout", "hotkey": "ctrl+alt+9"}
    assert answer["draft"] == {"pose": {}}
    text = (studio["folder"] / "presets.toml").read_text(encoding="utf-8")
    assert text.startswith(PRESETS) and "[pout]" in text  # the user's file as it was, the new table added
    assert list(load_presets(studio["folder"] / "presets.toml")) == ["happy", "pout"]
    wait_for(lambda: all(r["pose"] == first for r in poses(path)[-3:]), what="the neutral pose after saving")
    commands.run("set_expression", {"name": "pout", "action": "trigger"})
    before = len(poses(path))
    wait_for(lambda: [r for r in poses_after(path, before) if r["pose"]["mouth_ooo"] == 1.0], what="the saved preset")
    commands.run("clear_expressions")
    wait_for(lambda: all(r["pose"] == first for r in poses(path)[-3:]), what="the neutral pose again")


def test_record_and_stop_gives_a_file_as_long_as_the_wall_clock(studio, tmp_path):
    commands = studio["commands"]
    started = time.monotonic()
    answer = commands.run("start_recording", {"folder": str(tmp_path)})
    assert answer["recording"]["on"] and answer["recording"]["path"].startswith(str(tmp_path))
    with pytest.raises(UserError, match="already recording"):
        commands.run("start_recording", {"folder": str(tmp_path)})
    time.sleep(2.0)
    commands.run("stop_recording")
    wall = time.monotonic() - started
    [video] = tmp_path.glob("*.mp4")
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        frames = list(container.decode(video=0))
        duration = float(stream.duration * stream.time_base)
    assert frames and duration == pytest.approx(wall, abs=0.2)
    assert commands.state()["recording"]["on"] is False
    with pytest.raises(UserError, match="nothing is being recorded"):
        commands.run("stop_recording")
    with pytest.raises(UserError, match="no such folder"):
        commands.run("start_recording", {"folder": str(tmp_path / "missing")})


def test_a_refused_picture_says_why_and_the_character_stays(studio, tmp_path):
    commands = studio["commands"]
    not_an_image = tmp_path / "cat.png"
    not_an_image.write_text("meow", encoding="utf-8")
    with pytest.raises(UserError, match="is not an image"):
        commands.run("set_character", {"path": str(not_an_image)})
    from PIL import Image

    opaque = tmp_path / "opaque.png"
    Image.new("RGB", (512, 512), (200, 10, 10)).save(opaque)
    with pytest.raises(UserError, match="no transparency"):
        commands.run("set_character", {"path": str(opaque)})
    assert commands.state()["character"] is None  # still the sample
    time.sleep(0.3)
    assert studio["sink"].newest[..., :3].max() > 0 and not (studio["sink"].newest[..., 0] == 200).all()


def test_idle_life_on_and_off(studio):
    commands, path = studio["commands"], studio["poses"]
    assert commands.run("set_idle", {"on": True}) == {"idle": True}
    before = len(poses(path))
    wait_for(lambda: any(abs(r["pose"]["breathing"]) > 0.05 for r in poses_after(path, before)),
             what="breathing from idle life")
    assert commands.run("set_idle", {"on": False}) == {"idle": False}
    before = len(poses(path))
    # A frame posed before the switch can still come out after it (a render takes up to seconds on a busy CPU,
    # and --smooth's in-between frames go on from the last two renders): what counts is that it stops.
    wait_for(lambda: len(after := poses_after(path, before)) >= 5
             and all(r["pose"]["breathing"] == 0.0 for r in after[-5:]), what="no breathing once idle life is off")


def test_vmc_out_on_and_off(studio):
    commands = studio["commands"]
    with pytest.raises(UserError, match="needs a target"):
        commands.run("set_output", {"output": "vmc_out", "on": True})
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other_app, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as phone:
        other_app.bind(("127.0.0.1", 0))
        other_app.settimeout(10)
        port = free_udp_port()
        commands.run("set_source", {"source": "vmc", "options": {"port": port, "host": "127.0.0.1"}})
        target = f"127.0.0.1:{other_app.getsockname()[1]}"
        answer = commands.run("set_output", {"output": "vmc_out", "on": True, "target": target})
        assert answer["outputs"]["vmc_out"] == {"on": True, "target": target}
        from vmc_packets import blend

        phone.sendto(blend({"A": 0.7}), ("127.0.0.1", port))
        data, _ = other_app.recvfrom(65536)
        assert b"/VMC/Ext/Blend" in data
        commands.run("set_output", {"output": "vmc_out", "on": False})
        assert commands.state()["outputs"]["vmc_out"]["on"] is False
        other_app.settimeout(0.5)
        for _ in range(5):  # drain what was under way
            try:
                other_app.recvfrom(65536)
            except TimeoutError:
                break
        phone.sendto(blend({"A": 0.2}), ("127.0.0.1", port))
        with pytest.raises(TimeoutError):
            other_app.recvfrom(65536)
    commands.run("set_source", {"source": "none"})


def test_the_virtual_camera_on_and_off(studio):
    import pyvirtualcam
    from test_virtualcam import RecordingBackend

    commands = studio["commands"]
    pyvirtualcam.register_backend("vtube-session-test", RecordingBackend)
    RecordingBackend.opened.clear()
    assert commands.run("set_output", {"output": "virtualcam", "on": True})["outputs"]["virtualcam"] is True
    [camera] = RecordingBackend.opened
    wait_for(lambda: len(camera.frames) > 3, what="frames on the virtual camera")
    assert camera.frames[-1].shape == (512, 512, 3)
    commands.run("set_output", {"output": "virtualcam", "on": False})
    assert camera.closed and commands.state()["outputs"]["virtualcam"] is False


def test_lip_sync_from_a_real_sound_device_on_and_off(studio, null_sink, monkeypatch, tmp_path):  # noqa: F811
    monkeypatch.setenv("PULSE_SOURCE", f"{null_sink}.monitor")
    commands, path = studio["commands"], studio["poses"]
    answer = commands.run("set_lip_sync", {"mode": "mic"})
    assert answer["lip_sync"]["mode"] == "mic" and answer["lip_sync"]["gate"] < 0
    sentence = speak(tmp_path / "sentence.wav", SENTENCE)
    before = len(poses(path))

    def talked() -> bool:
        return any(sum(r["pose"][f"mouth_{v}"] for v in VOWELS) > 0.5 for r in poses_after(path, before))

    heard = []
    for _ in range(5):  # said again while the renderer (on a busy machine) has not caught an open mouth yet
        subprocess.run(["paplay", f"--device={null_sink}", str(sentence)], timeout=30, check=True)
        heard.append(commands.state()["lip_sync"]["level"])
        if talked():
            break
    assert talked(), heard
    assert commands.run("set_lip_sync", {"mode": "off"})["lip_sync"]["mode"] == "off"


# --- saved settings -------------------------------------------------------------------------------
def test_settings_survive_a_restart(studio, tmp_path):
    commands = studio["commands"]
    commands.run("set_idle", {"on": True})
    commands.run("set_profile", {"profile": "vrm"})
    commands.run("set_source", {"source": "vmc", "options": {"port": free_udp_port(), "host": "127.0.0.1"}})
    saved = json.loads((studio["config"] / "studio-settings.json").read_text(encoding="utf-8"))
    assert saved["idle"] is True and saved["profile"] == "vrm" and saved["source"]["source"] == "vmc"
    studio["stop"]()
    assert studio["events"][-1]["type"] == "stopped"
    with pytest.raises(UserError, match="stopped"):
        commands.run("calibrate")
    sink = NewestFrame()
    commands, stop = start_session(sinks=[sink], base=studio["base"])
    studio["stop"] = stop
    wait_for(lambda: sink.count > 0, what="the first frame after the restart")  # not stopped mid-way through it
    state = commands.state()
    assert state["idle"] is True and state["profile"] == "vrm" and state["source"]["name"] == "vmc"


def test_a_corrupt_settings_file_is_said_the_defaults_are_used_and_it_is_kept(tmp_path):
    path = tmp_path / "studio-settings.json"
    path.write_text('{"idle": tru', encoding="utf-8")
    said = []
    saved = load_saved_settings(path, say=said.append)
    assert saved.values == {} and "cannot be used" in said[0] and "defaults" in said[0]
    assert saved.apply_to(LiveConfig()) == LiveConfig()
    assert path.read_text(encoding="utf-8") == '{"idle": tru'  # untouched until the user changes something
    path.write_text('{"source": {"source": "vmc", "options": {"port": "many"}}}', encoding="utf-8")
    assert "port" in load_saved_settings(path, say=said.append).problem
    saved = load_saved_settings(path, say=said.append)
    saved.remember("set_idle", {"on": False})
    assert json.loads(path.read_text(encoding="utf-8")) == {"version": 1, "idle": False}
    assert "many" in (tmp_path / "studio-settings.json.broken").read_text(encoding="utf-8")
    assert load_saved_settings(path).apply_to(LiveConfig()).idle == "off"
