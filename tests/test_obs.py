"""Expressions and a real OBS Studio (headless, obs-websocket 5): setup, hotkey items, custom events,
OBS actions, a wrong password, OBS absent at start and OBS killed mid-run.

One OBS per module (Xvfb + `obs`, temporary HOME, free port); the tests run in file order and the later
ones stop and restart it. Needs `apt-get install obs-studio xvfb`; skipped only where `obs` is missing.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from pathlib import Path

import pytest
from headless_obs import HeadlessObs
from obs_calls import PASSWORD, call, item_id, needs_obs, set_item

from vtube_plugin import cli
from vtube_plugin.expressions.layer import ExpressionLayer, load_presets, smoothstep
from vtube_plugin.pose import Pose

pytestmark = needs_obs

TRACKED = Pose.from_dict({"mouth_aaa": 0.5, "head_y": 0.2})

PRESETS = """
[defaults]
keep = ["lip_sync"]

[happy]
fade_in = 0.3
fade_out = 0.5
pose = { mouth_raised_corner = 1.0, eyebrow_happy = 1.0 }

[sad]
fade_in = 0.2
fade_out = 0.2
pose = { mouth_lowered_corner = 1.0 }

[wow]
mode = "one-shot"
duration = 0.4
fade_in = 0.1
fade_out = 0.1
pose = { eye_surprised = 1.0 }

[angry]
fade_in = 0.1
fade_out = 0.1
pose = { eyebrow_angry = 1.0 }
obs = { scene = "Angry cam", filters = [{ source = "Backdrop", filter = "Red" }] }
"""


@pytest.fixture(scope="module")
def presets_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("presets") / "expressions.toml"
    path.write_text(PRESETS)
    return path


def run_cli(argv: list[str], monkeypatch, capsys) -> tuple[int, str]:
    monkeypatch.setattr(cli, "COMMANDS", ["expression", "obs"])  # only our commands: others may not be merged
    code = cli.main(argv)
    out = capsys.readouterr()
    return code, out.out + out.err


class FrameLoop:
    """A stand-in for the run loop: apply the layer to a tracked pose every 20 ms and keep (time, pose)."""

    def __init__(self, layer: ExpressionLayer):
        self.layer = layer
        self.frames: list[tuple[float, Pose]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            self.frames.append((now, self.layer.apply(TRACKED, now)))
            self._stop.wait(0.02)

    def __enter__(self) -> FrameLoop:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def wait_for(self, name: str, value: float, after: int = 0, timeout: float = 10.0) -> int:
        """Index of the first frame from `after` on where parameter `name` equals `value`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for i in range(after, len(self.frames)):
                if abs(self.frames[i][1][name] - value) < 1e-4:
                    return i
            time.sleep(0.02)
        last = self.frames[-1][1][name] if self.frames else None
        raise AssertionError(f"{name} never reached {value} (last value {last})")

    def count(self) -> int:
        return len(self.frames)


def assert_fade(frames: list[tuple[float, Pose]], name: str, start: float, end: float, seconds: float) -> None:
    """From the last frame at `start` to the first at `end`, every frame lies on the smoothstep fade."""
    first = next(i for i in range(len(frames)) if abs(frames[i][1][name] - start) > 1e-4) - 1
    last = next(i for i in range(first, len(frames)) if abs(frames[i][1][name] - end) < 1e-4)
    t0 = frames[first][0]
    assert last - first >= 3, "the fade should span several frames"
    for t, pose in frames[first:last + 1]:
        expected = start + (end - start) * smoothstep((t - t0) / seconds)
        assert pose[name] == pytest.approx(expected, abs=1e-3)


def test_setup_creates_one_hidden_item_per_expression_and_is_idempotent(obs, presets_file, monkeypatch, capsys):
    monkeypatch.setenv("OBS_PASSWORD", PASSWORD)
    argv = ["obs", "setup", "--expressions", str(presets_file), "--obs-host", "127.0.0.1", "--obs-port", str(obs.port)]
    code, out = run_cli(argv, monkeypatch, capsys)
    assert code == 0, out
    assert "created 'expression: happy' (hidden)" in out
    items = call(obs, "GetSceneItemList", {"sceneName": "vtube-plugin expressions"})["sceneItems"]
    assert sorted(i["sourceName"] for i in items) == [f"expression: {n}" for n in ("angry", "happy", "sad", "wow")]
    assert not any(i["sceneItemEnabled"] for i in items)
    hotkeys = call(obs, "GetHotkeyList")["hotkeys"]
    assert "libobs.show_scene_item.expression: happy" in hotkeys  # what File > Settings > Hotkeys lists

    code, out = run_cli(argv, monkeypatch, capsys)
    assert code == 0 and "created" not in out and "'expression: sad' is already there" in out
    assert len(call(obs, "GetSceneItemList", {"sceneName": "vtube-plugin expressions"})["sceneItems"]) == 4
    assert PASSWORD not in out


@pytest.fixture
def live(obs, presets_file):
    """A layer, a connected controller and a frame loop, torn down after the test."""
    from vtube_plugin.obs import ObsController, ObsSettings

    layer = ExpressionLayer(load_presets(presets_file))
    said: list[str] = []
    controller = ObsController(layer, ObsSettings("127.0.0.1", obs.port, PASSWORD), say=said.append, first_delay=0.2)
    with FrameLoop(layer) as loop, controller:
        assert controller.wait_for("connected", 15), said
        yield layer, controller, loop, said
        layer.release_all()


def test_an_obs_hotkey_item_fades_the_expression_in_and_out(obs, live):
    layer, controller, loop, said = live
    set_item(obs, "happy", True)
    on = loop.wait_for("mouth_raised_corner_left", 1.0)
    # The smoothstep is flat at its end: a frame within 1e-4 of 1.0 may come 2 ms before the fade is done, and
    # switched off then it would fade out from 0.998, not from 1.0. Its fade (0.3 s) is over well within 0.1 s.
    time.sleep(0.1)
    set_item(obs, "happy", False)
    off = loop.wait_for("mouth_raised_corner_left", 0.0, after=on)
    assert_fade(loop.frames[:on + 1], "mouth_raised_corner_left", 0.0, 1.0, 0.3)
    assert_fade(loop.frames[on:off + 1], "mouth_raised_corner_left", 1.0, 0.0, 0.5)
    assert all(pose["mouth_aaa"] == pytest.approx(0.5) for _, pose in loop.frames)  # lip sync kept throughout
    assert said[0].startswith(f"OBS: connected to 127.0.0.1:{obs.port} (OBS ")


def test_a_custom_event_switches_expressions_and_bad_ones_are_counted(obs, live):
    layer, controller, loop, said = live
    call(obs, "BroadcastCustomEvent", {"eventData": {"vtube_plugin": {"expression": "sad", "action": "trigger"}}})
    on = loop.wait_for("mouth_lowered_corner_right", 1.0)
    assert layer.active() == ["sad"]
    call(obs, "BroadcastCustomEvent", {"eventData": {"vtube_plugin": {"expression": "grumpy"}}})
    call(obs, "BroadcastCustomEvent", {"eventData": {"someone_else": 1}})  # not ours: ignored quietly
    call(obs, "BroadcastCustomEvent", {"eventData": {"vtube_plugin": {"expression": "sad", "action": "toggle"}}})
    loop.wait_for("mouth_lowered_corner_right", 0.0, after=on)
    assert controller.dropped == 1
    assert any("ignored a custom event: expression 'grumpy'" in line for line in said)
    # The hotkey item follows the expression, so OBS's next Show press acts again.
    assert call(obs, "GetSceneItemEnabled", {"sceneName": "vtube-plugin expressions",
                                             "sceneItemId": item_id(obs, "sad")})["sceneItemEnabled"] is False


def test_a_one_shot_from_obs_ends_by_itself_and_hides_its_item_again(obs, live):
    layer, controller, loop, said = live
    set_item(obs, "wow", True)
    on = loop.wait_for("eye_surprised_left", 1.0)
    loop.wait_for("eye_surprised_left", 0.0, after=on)
    deadline = time.monotonic() + 5
    while call(obs, "GetSceneItemEnabled", {"sceneName": "vtube-plugin expressions",
                                            "sceneItemId": item_id(obs, "wow")})["sceneItemEnabled"]:
        assert time.monotonic() < deadline, "the one-shot's item was not hidden after it ended"
        time.sleep(0.05)
    assert layer.active() == []


def test_an_expression_switches_the_obs_scene_and_filter_and_back(obs, live, monkeypatch, capsys):
    from vtube_plugin.expressions.control import ControlServer

    layer, controller, loop, said = live
    call(obs, "CreateScene", {"sceneName": "Angry cam"})
    call(obs, "CreateInput", {"sceneName": "Main", "inputName": "Backdrop", "inputKind": "color_source_v3",
                              "inputSettings": {"color": 4278190335}})
    call(obs, "CreateSourceFilter", {"sourceName": "Backdrop", "filterName": "Red", "filterKind": "color_filter_v2",
                                     "filterSettings": {}})
    call(obs, "SetSourceFilterEnabled", {"sourceName": "Backdrop", "filterName": "Red", "filterEnabled": False})
    assert call(obs, "GetCurrentProgramScene")["currentProgramSceneName"] == "Main"

    with ControlServer(layer, port=0) as control:  # the way a script reaches `vtube-plugin run`
        code, out = run_cli(["expression", "angry", "--control-port", str(control.port)], monkeypatch, capsys)
        assert code == 0 and out.strip() == "angry on"
        loop.wait_for("eyebrow_angry_left", 1.0)
        wait_obs(lambda: call(obs, "GetSourceFilter", {"sourceName": "Backdrop", "filterName": "Red"})["filterEnabled"])
        assert call(obs, "GetCurrentProgramScene")["currentProgramSceneName"] == "Angry cam"  # switched before

        code, out = run_cli(["expression", "angry", "--release", "--control-port", str(control.port)],
                            monkeypatch, capsys)
        assert code == 0 and out.strip() == "angry off"
        red_filter = {"sourceName": "Backdrop", "filterName": "Red"}
        wait_obs(lambda: not call(obs, "GetSourceFilter", red_filter)["filterEnabled"])
        assert call(obs, "GetCurrentProgramScene")["currentProgramSceneName"] == "Main"


def wait_obs(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "OBS did not reach the expected state"
        time.sleep(0.05)


def test_a_wrong_password_is_named_and_never_shown(obs, presets_file, monkeypatch, capsys, caplog):
    from vtube_plugin.obs import ObsController, ObsSettings

    caplog.set_level(logging.DEBUG)
    wrong = "not-" + secrets.token_hex(8)
    layer = ExpressionLayer(load_presets(presets_file))
    said: list[str] = []
    with ObsController(layer, ObsSettings("127.0.0.1", obs.port, wrong), say=said.append) as controller:
        assert controller.wait_for("wrong-password", 15)
        assert repr(controller.settings).count("password") == 0

    monkeypatch.setenv("OBS_PASSWORD", wrong)
    code, out = run_cli(["obs", "setup", "--expressions", str(presets_file), "--obs-host", "127.0.0.1",
                         "--obs-port", str(obs.port)], monkeypatch, capsys)
    assert code == 3
    assert f"error: wrong password for OBS at 127.0.0.1:{obs.port}" in out
    assert said and said[0].startswith(f"OBS: wrong password for OBS at 127.0.0.1:{obs.port}")
    everything = out + "\n".join(said) + caplog.text
    assert wrong not in everything and PASSWORD not in everything


def quick_controller(obs: HeadlessObs, presets_file: Path):
    """A layer and a controller that retries every 0.2-0.5 s; `said` collects its console lines."""
    from vtube_plugin.obs import ObsController, ObsSettings

    layer = ExpressionLayer(load_presets(presets_file))
    said: list[str] = []
    controller = ObsController(layer, ObsSettings("127.0.0.1", obs.port, PASSWORD), say=said.append,
                               first_delay=0.2, max_delay=0.5)
    return layer, controller, said


def test_obs_starting_after_us_is_found_while_frames_go_on(obs, presets_file):
    obs.stop()  # a clean stop: OBS saves the items setup made
    layer, controller, said = quick_controller(obs, presets_file)
    with FrameLoop(layer) as loop, controller:
        assert controller.wait_for("not-running", 10)
        before = loop.count()
        wait_obs(lambda: loop.count() > before + 10)  # rendering does not wait for OBS
        assert controller.state == "not-running"
        assert any("OBS is not reachable at 127.0.0.1" in line and "retrying in" in line for line in said)
        obs.start()
        assert controller.wait_for("connected", 15), said
        set_item(obs, "happy", True)
        loop.wait_for("mouth_raised_corner_left", 1.0)


def test_obs_killed_mid_run_reconnects_and_keeps_active_expressions(obs, presets_file):
    layer, controller, said = quick_controller(obs, presets_file)
    with FrameLoop(layer) as loop, controller:
        assert controller.wait_for("connected", 15)
        set_item(obs, "happy", True)
        on = loop.wait_for("mouth_raised_corner_left", 1.0)
        obs.kill()
        assert controller.wait_for("not-running", 10), said
        assert any("lost the connection" in line for line in said)
        during = loop.count()
        obs.start()
        assert controller.wait_for("connected", 15), said
        assert loop.count() > during
        assert layer.active() == ["happy"]
        assert all(pose["mouth_raised_corner_left"] == pytest.approx(1.0) for _, pose in loop.frames[on:])
        # OBS came back without our last change (it was killed); the controller shows the item again.
        wait_obs(lambda: call(obs, "GetSceneItemEnabled", {"sceneName": "vtube-plugin expressions",
                                                           "sceneItemId": item_id(obs, "happy")})["sceneItemEnabled"])
        set_item(obs, "happy", False)
        loop.wait_for("mouth_raised_corner_left", 0.0, after=on)


RESTARTS = 3  # an OBS start takes seconds: three restarts keep the test short


def test_obs_killed_and_started_again_says_one_line_each_way_and_hotkeys_work_again(obs, presets_file):
    layer, controller, said = quick_controller(obs, presets_file)
    with FrameLoop(layer) as loop, controller:
        assert controller.wait_for("connected", 15), said
        on = 0
        for _ in range(RESTARTS):
            obs.kill()
            assert controller.wait_for("not-running", 10), said
            time.sleep(1.0)  # several quiet retries (0.2, 0.4, 0.5 s) while OBS is away
            obs.start()
            assert controller.wait_for("connected", 15), said
            set_item(obs, "happy", True)  # the hotkey works again, without a restart of ours
            on = loop.wait_for("mouth_raised_corner_left", 1.0, after=on)
            set_item(obs, "happy", False)
            on = loop.wait_for("mouth_raised_corner_left", 0.0, after=on)
    lost = [line for line in said if "lost the connection" in line]
    back = [line for line in said if line.startswith("OBS: connected to")]
    assert len(lost) == RESTARTS and len(back) == RESTARTS + 1, said  # one line each way, each time
    assert not any("retrying in" in line for line in said), said  # the retries while it was away went quietly


def test_a_frozen_obs_is_noticed_within_seconds_and_reconnected_when_it_wakes(obs, presets_file):
    # SIGSTOP freezes the real OBS: its sockets stay open and the kernel still takes our bytes, but nothing
    # answers (a hung OBS). Before, the controller waited on it forever and said nothing.
    import os
    import signal

    layer, controller, said = quick_controller(obs, presets_file)
    with FrameLoop(layer) as loop, controller:
        assert controller.wait_for("connected", 15), said
        os.kill(obs.obs.pid, signal.SIGSTOP)
        try:
            frozen_at = time.monotonic()
            wait_obs(lambda: any("lost the connection" in line for line in said), timeout=15)
            noticed = time.monotonic() - frozen_at
            lost = next(line for line in said if "lost the connection" in line)
            assert "no answer within 3 s" in lost and noticed < 10  # keepalive (2 s) + the request timeout (3 s)
            before = loop.count()
            wait_obs(lambda: loop.count() > before + 10)  # rendering never waited for the frozen OBS
        finally:
            os.kill(obs.obs.pid, signal.SIGCONT)
        assert controller.wait_for("connected", 20), said
        set_item(obs, "happy", True)
        loop.wait_for("mouth_raised_corner_left", 1.0)
        set_item(obs, "happy", False)


def test_the_password_can_come_from_a_file(obs, presets_file, tmp_path, monkeypatch, capsys):
    secret_file = tmp_path / "obs-password.txt"
    secret_file.write_text(PASSWORD + "\n")
    monkeypatch.delenv("OBS_PASSWORD", raising=False)
    argv = ["obs", "setup", "--expressions", str(presets_file), "--obs-host", "127.0.0.1", "--obs-port", str(obs.port)]
    code, out = run_cli([*argv, "--obs-password-file", str(secret_file)], monkeypatch, capsys)
    assert code == 0 and "done:" in out, out
    monkeypatch.setenv("OBS_PASSWORD_FILE", str(secret_file))
    code, out = run_cli(argv, monkeypatch, capsys)
    assert code == 0 and "done:" in out and PASSWORD not in out, out
