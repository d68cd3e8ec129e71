"""The character picture is deleted and replaced (by another picture, by a broken file) 20 times while
`vtube-plugin run` streams with the real renderer: it was loaded at the start, so nothing breaks and every
frame shows the character it started with."""

from __future__ import annotations

import shutil
import threading

import numpy as np
from live_process import LiveProcess, read_poses, read_video

from vtube_plugin.models.store import sample_character

CHANGES = 20


def test_the_character_file_deleted_and_replaced_while_streaming(tmp_path, tha3_weights_dir):
    character, poses, video = tmp_path / "me.png", tmp_path / "poses.jsonl", tmp_path / "take.mp4"
    shutil.copy(sample_character(), character)
    other = tmp_path / "other.png"
    from PIL import Image

    Image.open(sample_character()).transpose(Image.Transpose.FLIP_TOP_BOTTOM).save(other)  # a different picture
    argv = ["run", "--source", "none", "--idle", "off", "--character", str(character), "--engine", "torch",
            "--precision", "fp32", "--output", f"file:{video}", "--record-poses", str(poses), "--max-frames", "12",
            "--size", "256x256", "--control-port", "0", "--keys", "off"]
    changed = []

    def meddle(stop: threading.Event) -> None:
        while not read_poses(poses) and not stop.wait(0.05):
            pass  # streaming: the first frame is out
        for n in range(CHANGES):
            if stop.wait(0.01):
                return
            character.unlink(missing_ok=True)
            if n % 3 == 1:
                shutil.copy(other, character)
            elif n % 3 == 2:
                character.write_bytes(b"not a picture")
            changed.append(len(read_poses(poses)))

    with LiveProcess(argv, tmp_path / "config") as run:
        code, output = run.finish_while(meddle, timeout=300)
    assert code == 0, output
    assert len(changed) == CHANGES and changed[-1] < 12, changed  # all of it while frames were still to come
    assert "stopped (max-frames) after 12 frames" in output and "Traceback" not in output
    frames = read_video(video)
    assert len(frames) == 12
    # Every frame is the first one: the same pose (no tracker, no idle life) of the same character.
    assert all(np.abs(frame - frames[0]).mean() < 1.0 for frame in frames)
    face = frames[0][70, 128]
    assert not (face[1] > 200 and face[0] < 60)  # the character's face is there, not the green background
