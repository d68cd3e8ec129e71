"""`vtube-plugin render` and `demo` as a user runs them: real weights, real files, exit codes and messages."""

from __future__ import annotations

import os
import subprocess
import sys

import av
import numpy as np
import pytest
from conftest import ROOT
from PIL import Image


def vtube(*args, cwd=None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "vtube_plugin", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=cwd or ROOT, timeout=600)


@pytest.fixture(scope="module")
def character_png(tmp_path_factory, sample_rgba):
    path = tmp_path_factory.mktemp("chars") / "me.png"
    Image.fromarray(sample_rgba).save(path)
    return path


def test_render_writes_the_posed_picture(tmp_path, character_png, tha3_weights_dir):
    out = tmp_path / "posed.png"
    result = vtube("render", character_png, "--pose", "mouth_aaa=1", "head_y=-0.5", "-o", out)
    assert result.returncode == 0, result.stderr
    posed = np.asarray(Image.open(out))
    assert posed.shape == (512, 512, 4)
    rest = np.asarray(Image.open(character_png))
    assert np.abs(posed.astype(int) - rest.astype(int)).max() > 100  # the head really turned


def test_render_reads_a_pose_file(tmp_path, character_png, tha3_weights_dir):
    pose_file = tmp_path / "wink.toml"
    pose_file.write_text("eye_wink_left = 1.0\n")
    out = tmp_path / "wink.webp"
    result = vtube("render", character_png, "--pose", pose_file, "-o", out)
    assert result.returncode == 0, result.stderr
    assert Image.open(out).mode == "RGBA"


@pytest.mark.parametrize("make, args, message", [
    (None, ["missing.png", "--pose", "mouth_aaa=1"], "not found"),
    ("rgb", ["{img}", "--pose", "mouth_aaa=1"], "transparent"),
    ("wide", ["{img}", "--pose", "mouth_aaa=1"], "it must be square"),
    ("small", ["{img}", "--pose", "mouth_aaa=1"], "too small"),
    ("corrupt", ["{img}", "--pose", "mouth_aaa=1"], "damaged or incomplete"),
    ("ok", ["{img}", "--pose", "mouth_aa=1"], "unknown pose parameter 'mouth_aa'. Did you mean mouth_aaa"),
    ("ok", ["{img}", "--pose", "head_y=2"], "head_y' = 2 is outside its range -1..1"),
    ("ok", ["{img}", "--pose", "nopose.json"], "pose file not found"),
    ("ok", ["{img}", "--pose", "mouth_aaa=1", "--device", "cuda"], "CUDA is not available"),
])
def test_render_mistakes_give_a_message_and_exit_code_2(tmp_path, sample_rgba, make, args, message):
    if message == "CUDA is not available":
        import torch
        if torch.cuda.is_available():
            pytest.skip("this machine has CUDA")
    img = tmp_path / "char.png"
    if make == "rgb":
        Image.new("RGB", (512, 512), "white").save(img)
    elif make == "wide":
        Image.new("RGBA", (600, 512)).save(img)
    elif make == "small":
        Image.new("RGBA", (100, 100)).save(img)
    elif make == "corrupt":
        Image.fromarray(sample_rgba).save(img)
        img.write_bytes(img.read_bytes()[:2000])
    elif make == "ok":
        Image.fromarray(sample_rgba).save(img)
    argv = [a.replace("{img}", str(img)) for a in args]
    result = vtube("render", *argv, "-o", tmp_path / "out.png", cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out.png").exists()


def test_demo_renders_the_performance_to_a_video(tmp_path, tha3_weights_dir):
    out = tmp_path / "demo.mp4"
    result = vtube("demo", "-o", out, "--fps", "4")
    assert result.returncode == 0, result.stderr
    assert "rendering demo" in result.stderr  # the progress bar
    with av.open(str(out)) as video:
        stream = video.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in video.decode(stream)]
    assert len(frames) == 20 and frames[0].shape == (512, 512, 3)
    # Something moves: the frames are not all alike.
    assert max(np.abs(f.astype(int) - frames[0].astype(int)).max() for f in frames) > 60
