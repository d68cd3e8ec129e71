"""Our THA3 against the authors' implementation on the real weights, the stage cache, and the tensor API."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from vtube_plugin.bench.run import premultiplied_psnr as psnr
from vtube_plugin.errors import UserError
from vtube_plugin.pose import Pose
from vtube_plugin.render import Renderer, load_poser
from vtube_plugin.render.convert import rgba_to_tensor, tensor_to_rgba

# One pose per group the network knows, and one that moves everything at once.
POSES = {
    "eyebrows": {"eyebrow_troubled_left": 1.0, "eyebrow_angry_right": 0.7, "eyebrow_raised_left": 0.5},
    "eyes": {"eye_wink_left": 1.0, "eye_surprised_right": 0.8, "eye_relaxed_left": 0.3},
    "irises": {"iris_small_left": 1.0, "iris_small_right": 0.6},
    "mouth": {"mouth_aaa": 1.0, "mouth_raised_corner_left": 0.5, "mouth_smirk": 0.4},
    "iris_rotation": {"iris_rotation_x": -1.0, "iris_rotation_y": 0.8},
    "head_neck": {"head_x": 0.6, "head_y": -0.8, "neck_z": 0.5},
    "body": {"body_y": 0.9, "body_z": -0.7},
    "breathing": {"breathing": 1.0},
    "everything": {"eyebrow_happy_left": 0.6, "eye_happy_wink_right": 0.9, "iris_small_left": 0.3,
                   "mouth_ooo": 0.8, "iris_rotation_y": -0.5, "head_y": 0.7, "neck_z": -0.4,
                   "body_z": 0.5, "breathing": 0.5},
}


def premultiplied_psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """PSNR on RGBA in [0, 1] with RGB premultiplied, so colour hidden under transparency does not count."""
    return psnr(a.float().cpu().numpy(), b.float().cpu().numpy())


@pytest.fixture(scope="module")
def renderer(tha3_weights_dir, sample_rgba) -> Renderer:
    r = Renderer.load(model="tha3", weights_dir=tha3_weights_dir)
    r.set_character(sample_rgba)
    return r


def test_image_conversion_matches_the_reference(reference_tha3, sample_rgba):
    _, util = reference_tha3
    theirs = util.extract_pytorch_image_from_PIL_image(Image.fromarray(sample_rgba))
    ours = rgba_to_tensor(sample_rgba)[0]
    assert ours.shape == theirs.shape == (4, 512, 512)
    assert torch.equal(ours, theirs)
    # Back to 8 bits the way the reference displays it.
    back = tensor_to_rgba(ours.unsqueeze(0))
    theirs_back = np.round(util.convert_output_image_from_torch_to_numpy(theirs) * 255).astype(np.uint8)
    assert np.abs(back.astype(int) - theirs_back.astype(int)).max() <= 1
    opaque = sample_rgba[..., 3] == 255
    assert np.abs(back[opaque].astype(int) - sample_rgba[opaque].astype(int)).max() <= 1


@pytest.mark.parametrize("name", list(POSES))
def test_matches_reference_at_45_db(name, renderer, reference_tha3, sample_rgba):
    poser, util = reference_tha3
    pose = Pose.from_dict(POSES[name])
    image = util.extract_pytorch_image_from_PIL_image(Image.fromarray(sample_rgba)).unsqueeze(0)
    with torch.no_grad():
        theirs = poser.pose(image, torch.from_numpy(pose.as_array()).unsqueeze(0))
    ours = renderer.render_tensor(pose.as_array())
    assert ours.shape == theirs.shape == (1, 4, 512, 512)
    psnr = premultiplied_psnr(ours, theirs)
    assert psnr >= 45.0, f"{name}: {psnr:.1f} dB"
    # The pose really moved the picture: some pixels differ clearly from the rest pose.
    rest = renderer.render_tensor(Pose().as_array())
    assert (ours - rest).abs().amax(dim=1).gt(0.2).sum().item() > 50


def test_stage_skipping_gives_the_same_frame_as_a_full_recompute(tha3_weights_dir, sample_rgba, renderer):
    fresh = Renderer.load(weights_dir=tha3_weights_dir)
    sequence = [
        (Pose.from_dict({"mouth_aaa": 1.0}), None),
        (Pose.from_dict({"mouth_aaa": 1.0, "head_y": 0.5}), ("rotate", "edit")),
        (Pose.from_dict({"mouth_aaa": 1.0, "head_y": 0.5, "body_z": -0.3, "breathing": 0.4}), ("rotate", "edit")),
        (Pose.from_dict({"mouth_aaa": 0.2, "head_y": 0.5, "body_z": -0.3, "breathing": 0.4}),
         ("morph_face", "rotate", "edit")),
        (Pose.from_dict({"eyebrow_angry_left": 1.0, "mouth_aaa": 0.2, "head_y": 0.5}),
         ("morph_eyebrows", "morph_face", "rotate", "edit")),
        (Pose.from_dict({"eyebrow_angry_left": 1.0, "mouth_aaa": 0.2, "head_y": 0.5}), ()),
    ]
    renderer.render_tensor(Pose().as_array())
    for pose, expected_stages in sequence:
        cached = renderer.render_tensor(pose.as_array()).clone()
        if expected_stages is not None:
            assert renderer.last_stages_run == expected_stages
        fresh.set_character(sample_rgba)  # empties the cache: all five stages run
        full = fresh.render_tensor(pose.as_array())
        assert fresh.last_stages_run == ("decompose", "morph_eyebrows", "morph_face", "rotate", "edit")
        assert torch.equal(cached, full)


def test_render_returns_rgba_frames_that_follow_the_pose(renderer):
    rest = renderer.render(Pose())
    open_mouth = renderer.render(Pose.from_dict({"mouth_aaa": 1.0}))
    assert rest.shape == (512, 512, 4) and rest.dtype == np.uint8
    changed = np.abs(rest.astype(int) - open_mouth.astype(int)).max(axis=2) > 16
    ys, xs = np.nonzero(changed)
    # The face changes visibly when the mouth opens: nearly all such pixels sit in the 192x192 face box.
    assert changed.sum() > 100
    in_face = (ys >= 32) & (ys < 224) & (xs >= 160) & (xs < 352)
    assert in_face.mean() > 0.95


def test_load_poser_speaks_the_reference_tensor_contract(tha3_weights_dir, sample_rgba, renderer):
    poser = load_poser(model="tha3", weights_dir=tha3_weights_dir, device="cpu", precision="fp32")
    image = rgba_to_tensor(sample_rgba)
    pose = torch.from_numpy(Pose.from_dict({"head_y": 0.5}).as_array()).unsqueeze(0)
    out = poser.pose(image, pose)
    assert out.shape == (1, 4, 512, 512) and out.dtype == torch.float32
    assert torch.equal(out, renderer.render_tensor(pose[0].numpy()))
    assert -1.0 <= out.min().item() and out.max().item() <= 1.0
    with pytest.raises(ValueError, match=r"pose must be \(1, 45\)"):
        poser.pose(image, torch.zeros(1, 42))
    with pytest.raises(ValueError, match=r"image must be \(1, 4, 512, 512\)"):
        poser.pose(image[:, :3], pose)


def test_bf16_on_cpu_stays_close_to_fp32(tha3_weights_dir, sample_rgba, renderer):
    bf16 = Renderer.load(weights_dir=tha3_weights_dir, precision="bf16")
    bf16.set_character(sample_rgba)
    pose = Pose.from_dict(POSES["everything"]).as_array()
    psnr = premultiplied_psnr(bf16.render_tensor(pose), renderer.render_tensor(pose))
    assert 30.0 <= psnr < float("inf")


def test_device_and_precision_mistakes_are_explained():
    if not torch.cuda.is_available():
        with pytest.raises(UserError, match="CUDA is not available"):
            Renderer.load(device="cuda")
    with pytest.raises(UserError, match="fp16 needs a CUDA device"):
        Renderer.load(device="cpu", precision="fp16")
    with pytest.raises(UserError, match="unknown device 'gpu0'"):
        Renderer.load(device="gpu0")


def test_missing_weights_say_how_to_fetch(tmp_path):
    with pytest.raises(UserError, match="models fetch") as err:
        Renderer.load(weights_dir=tmp_path)
    assert "eyebrow_decomposer.pt" in str(err.value)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_fp16_matches_cpu_fp32(tha3_weights_dir, sample_rgba, renderer):
    gpu = Renderer.load(weights_dir=tha3_weights_dir, device="cuda", precision="fp16")
    gpu.set_character(sample_rgba)
    pose = Pose.from_dict(POSES["everything"]).as_array()
    assert premultiplied_psnr(gpu.render_tensor(pose).cpu(), renderer.render_tensor(pose)) >= 35.0
