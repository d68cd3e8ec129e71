"""The renderer driving THA2: the official final images through the tensor API, the stage cache, RGBA frames."""

from __future__ import annotations

import numpy as np
import pytest
import tha2_weights
import torch
from test_tha2_network import CHAIN_MIN_PSNR

from vtube_plugin.errors import UserError
from vtube_plugin.models.store import THA2_DEMO_URL
from vtube_plugin.pose import Pose
from vtube_plugin.render import load_poser
from vtube_plugin.render.convert import rgba_to_tensor, tensor_to_rgba


@pytest.fixture(scope="module")
def vectors() -> dict:
    return tha2_weights.load_vectors()


@pytest.fixture(scope="module")
def poser(tha2_weights_dir):
    return load_poser(model="tha2", weights_dir=tha2_weights_dir, device="cpu", precision="fp32")


def test_poser_gives_the_official_final_images(poser, vectors):
    assert (poser.image_size, poser.pose_size) == (256, 42)
    for case in vectors["cases"]:
        ours = poser.pose(vectors["image"], case["pose"])
        official = case["outputs"]["combiner.0"]
        mse = ((ours - official) ** 2).mean().item()
        assert mse == 0 or 10 * np.log10(4.0 / mse) >= CHAIN_MIN_PSNR
        assert (ours - official).abs().max().item() <= 0.1


def test_a_head_turn_reruns_only_the_rotator_and_combiner(poser, vectors):
    image, pose = vectors["image"], vectors["cases"][1]["pose"]
    poser.pose(image, pose)
    turned = pose.clone()
    turned[0, 39:42] = torch.tensor([-0.2, 0.6, 0.0])  # head_x, head_y, neck_z
    cached = poser.pose(image, turned)
    assert poser.renderer.last_stages_run == ("rotate", "edit")
    with torch.inference_mode():
        assert torch.equal(cached, poser.renderer.network(image, turned))


def test_render_takes_a_named_pose_to_an_rgba_frame(poser, vectors):
    renderer = poser.renderer
    character = tensor_to_rgba(vectors["image"])
    renderer.set_character(character)
    frame = renderer.render(Pose.from_dict({"mouth_aaa": 1.0}))
    assert frame.shape == (256, 256, 4) and frame.dtype == np.uint8
    # The official case 0 pose is mouth_aaa = 1: the name lands on THA2's index for it.
    with torch.inference_mode():
        direct = renderer.network(rgba_to_tensor(character), vectors["cases"][0]["pose"])
    assert np.array_equal(frame, tensor_to_rgba(direct))
    assert not np.array_equal(frame, renderer.render(Pose()))


def test_tha2_without_a_weights_folder_says_where_to_get_it():
    with pytest.raises(UserError) as err:
        load_poser(model="tha2")
    assert THA2_DEMO_URL in str(err.value) and "--weights DIR" in str(err.value)


def test_a_512_character_is_posed_through_its_top_centre_256(poser, vectors):
    """Characters framed by our rules (head in the top half's centre box) reach THA2 where its head framing
    expects them: the top-centre 256x256 of the 512 picture, at full resolution."""
    renderer = poser.renderer
    assert (renderer.size, renderer.frame_size) == (512, 256)
    native = tensor_to_rgba(vectors["image"])
    framed = np.zeros((512, 512, 4), np.uint8)
    framed[0:256, 128:384] = native
    renderer.set_character(framed)
    from_512 = renderer.render(Pose.from_dict({"mouth_aaa": 1.0}))
    renderer.set_character(native)
    assert np.array_equal(from_512, renderer.render(Pose.from_dict({"mouth_aaa": 1.0})))
    with pytest.raises(ValueError, match="characters are 512x512"):
        renderer.set_character(np.zeros((300, 300, 4), np.uint8))


def test_the_render_command_takes_model_tha2_and_its_weights(tmp_path, tha2_weights_dir, sample_rgba, capsys):
    from PIL import Image

    from vtube_plugin.cli import main

    character = tmp_path / "me.png"
    Image.fromarray(sample_rgba).save(character)
    out = tmp_path / "tha2.png"
    code = main(["render", str(character), "--model", "tha2", "--weights", str(tha2_weights_dir),
                 "--pose", "mouth_aaa=1", "-o", str(out)])
    assert code == 0, capsys.readouterr().err
    frame = np.asarray(Image.open(out))
    assert frame.shape == (256, 256, 4)
    # THA2 saw the top-centre 256x256 of the 512 character.
    poser = load_poser(model="tha2", weights_dir=tha2_weights_dir)
    poser.renderer.set_character(sample_rgba)
    assert np.array_equal(frame, poser.renderer.render(Pose.from_dict({"mouth_aaa": 1.0})))
    assert main(["render", str(character), "--model", "tha2", "--pose", "mouth_aaa=1", "-o", str(out)]) == 2
    assert "THA2 needs --weights DIR" in capsys.readouterr().err
