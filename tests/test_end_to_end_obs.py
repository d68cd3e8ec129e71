"""`vtube-plugin run --obs` end to end: a real headless OBS, `vtube-plugin obs setup`, then the live command on the
real THA3 renderer; showing the "happy" item in OBS (what its hotkey does) fades the character into the shipped
happy preset, and hiding it fades her back.

The only test-specific setting is a shorter fade, so each change spans a few of the CPU's slow frames.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from live_process import (
    SAMPLE_FACE,
    SAMPLE_LEFT_EYE,
    SAMPLE_RIGHT_EYE,
    LiveProcess,
    iris_pixels,
    read_poses,
    read_video,
)
from obs_calls import PASSWORD, SCENE, call, item_id, needs_obs, set_item

from vtube_plugin.expressions.presets import load_presets
from vtube_plugin.profile_files import shipped_presets_path
from vtube_plugin.user_files import read_toml

pytestmark = needs_obs

FRAMES = 20
FPS = 2  # at most 2 frames a second: 20 frames last at least 10 s, time enough to switch twice
FADE = 1.0  # seconds: two or three frames into each fade


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(map(toml_value, value)) + "]"
    return "{ " + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + " }"


def write_presets(path: Path) -> Path:
    """The shipped [defaults] and [happy], with shorter fades."""
    shipped = read_toml(shipped_presets_path(), "expression presets file")
    tables = {"defaults": {**shipped["defaults"], "fade_in": FADE, "fade_out": FADE},
              "happy": {k: v for k, v in shipped["happy"].items() if k not in ("fade_in", "fade_out")}}
    path.write_text("".join(f"[{name}]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in table.items()) + "\n"
                            for name, table in tables.items()), encoding="utf-8")
    return path


def progress(row: dict, targets: dict[str, float]) -> list[float]:
    """How far each of the preset's parameters is from neutral (0) to the preset's value (1)."""
    return [row["pose"][name] / value for name, value in targets.items()]


def wait_for_poses(path: Path, run: LiveProcess, condition, timeout: float) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and run.running:
        rows = read_poses(path)
        if condition(rows):
            return rows
        time.sleep(0.05)
    raise AssertionError(f"the recorded poses never got there; the command said:\n{run.output}")


def assert_moves(values: list[float], rising: bool, name: str) -> None:
    """Every frame at or past the one before, in the fade's direction (rounding aside)."""
    steps = [b - a if rising else a - b for a, b in zip(values, values[1:])]
    assert all(step > -1e-4 for step in steps), (name, values)


def test_an_obs_hotkey_item_fades_the_rendered_character_into_the_happy_preset_and_back(obs, tmp_path,
                                                                                       tha3_weights_dir):
    presets = write_presets(tmp_path / "expressions.toml")
    happy = load_presets(presets)["happy"]
    targets = {name: value for name, value in happy.pose.items() if value != 0.0}
    assert happy.pose == load_presets(shipped_presets_path())["happy"].pose and happy.fade_in == FADE
    assert targets  # the shipped happy preset moves something
    config = tmp_path / "config"
    obs_options = ["--obs-host", "127.0.0.1", "--obs-port", str(obs.port), "--obs-password", PASSWORD]

    with LiveProcess(["obs", "setup", "--expressions", str(presets), *obs_options], config) as setup:
        code, output = setup.finish(timeout=60)
    assert code == 0, output
    assert "created 'expression: happy' (hidden)" in output
    hidden = call(obs, "GetSceneItemEnabled", {"sceneName": SCENE, "sceneItemId": item_id(obs, "happy")})
    assert hidden["sceneItemEnabled"] is False

    poses = tmp_path / "poses.jsonl"
    video = tmp_path / "x.mp4"
    argv = ["run", "--source", "none", "--obs", *obs_options, "--expressions", str(presets),
            "--output", f"file:{video}", "--record-poses", str(poses), "--max-frames", str(FRAMES),
            "--fps", str(FPS), "--control-port", "0", "--keys", "off", "--idle", "off",  # no idle blinks: exact eyes
            "--smooth", "off"]  # the renders themselves: one file frame and one --record-poses line each
    with LiveProcess(argv, config) as run:
        assert run.wait_for_line(f"OBS: connected to 127.0.0.1:{obs.port}", timeout=120), run.output
        wait_for_poses(poses, run, lambda rows: len(rows) >= 2, timeout=120)
        on_at = len(read_poses(poses))
        set_item(obs, "happy", True)
        rows = wait_for_poses(poses, run, lambda rows: any(min(progress(r, targets)) > 0.999 for r in rows[on_at:]),
                              timeout=120)
        off_at = len(rows)
        set_item(obs, "happy", False)
        code, output = run.finish(timeout=180)

    assert code == 0, output
    assert f"stopped (max-frames) after {FRAMES} frames" in output
    assert PASSWORD not in output  # typed on the command line, never echoed
    rows = read_poses(poses)
    assert len(rows) == FRAMES
    assert off_at < FRAMES, "the command ended before the item was hidden"
    before, during, after = rows[:on_at], rows[on_at:off_at], rows[off_at - 1:]
    assert all(max(progress(row, targets)) == 0.0 for row in before)  # neutral until OBS showed the item
    for i, name in enumerate(targets):
        assert_moves([progress(row, targets)[i] for row in during], rising=True, name=name)
        assert_moves([progress(row, targets)[i] for row in after], rising=False, name=name)
    # Full strength is reached with every parameter at the preset's value at once ...
    full = next(row for row in during if min(progress(row, targets)) > 0.999)
    assert {name: full["pose"][name] for name in targets} == pytest.approx(targets, abs=1e-3)
    # ... and after the item is hidden the character is back at neutral before the command ends.
    assert {name: rows[-1]["pose"][name] for name in targets} == pytest.approx({name: 0.0 for name in targets})

    # The video shows it: at full strength her eyes narrow into happy arcs (little iris left) and her face
    # differs from the rest frame; at the end her eyes are open again.
    frames = read_video(video)
    assert len(frames) == FRAMES
    happy_frame = frames[rows.index(full)]
    assert np.abs(happy_frame[SAMPLE_FACE] - frames[0][SAMPLE_FACE]).mean() > 4.0
    for eye in (SAMPLE_LEFT_EYE, SAMPLE_RIGHT_EYE):
        rest = iris_pixels(frames[0], eye)
        assert rest > 40, rest
        assert iris_pixels(happy_frame, eye) < 0.3 * rest
        assert iris_pixels(frames[-1], eye) > 0.7 * rest
