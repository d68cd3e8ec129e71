"""THA2 computes what the official network computes: each stage fed the official inputs, and the whole chain,
checked against vectors the authors' code produced with the same stand-in weights (tests/data/tha2)."""

from __future__ import annotations

import math

import pytest
import tha2_weights
import torch

from vtube_plugin.models.store import tha2_weights_help
from vtube_plugin.nn.tha2.network import THA2

STAGE_TOLERANCE = 1e-3  # per stage, fed exact official inputs (observed: 0, bit-exact)
# dB, peak-to-peak 2. Identical on the AVX-512 machine that made the vectors; on an AVX2-only CPU oneDNN picks
# other convolution kernels (another summation order), every stage stays within 1e-3 but the random stand-in
# weights amplify it through the chain to 49.8 dB (mouth_only) and 50.2 dB (every_group). 45 dB is the project's
# bar for any engine against the reference, still far above a 1-px crop shift (19 dB) or align_corners (42 dB).
CHAIN_MIN_PSNR = 45.0
CHAIN_MAX_ERROR = 0.1


@pytest.fixture(scope="module")
def vectors() -> dict:
    return tha2_weights.load_vectors()


@pytest.fixture(scope="module")
def net(tha2_weights_dir) -> THA2:
    return THA2.from_dir(tha2_weights_dir)


@pytest.fixture(autouse=True)
def _no_autograd():
    with torch.inference_mode():
        yield


def max_error(ours: torch.Tensor, official: torch.Tensor) -> float:
    assert ours.shape == official.shape
    return (ours - official).abs().max().item()


def psnr(ours: torch.Tensor, official: torch.Tensor) -> float:
    mse = ((ours - official) ** 2).mean().item()
    return math.inf if mse == 0 else 10 * math.log10(2.0 ** 2 / mse)


def test_stand_in_weights_are_the_ones_the_vectors_were_made_with(tha2_weights_dir, vectors):
    written = {path.name: tha2_weights.fingerprint(torch.load(path, weights_only=True))
               for path in sorted(tha2_weights_dir.glob("*.pt"))}
    assert written == vectors["weights_sha256"]


def test_sizes_the_renderer_reads(net):
    assert (net.image_size, net.pose_size) == (256, 42)
    assert sum(p.numel() for p in net.parameters()) == 163_466_010


def test_decompose_splits_the_face_crop_like_the_official_network(net, vectors):
    eyebrow, background = net.decompose(vectors["image"])
    official = vectors["decomposer_outputs"]
    assert max_error(eyebrow, official["eyebrow_decomposer.0"]) <= STAGE_TOLERANCE
    assert max_error(background, official["eyebrow_decomposer.3"]) <= STAGE_TOLERANCE


# Case 1 moves every group of the pose; its stored outputs give each stage the official inputs.
@pytest.fixture(scope="module")
def mixed(vectors) -> tuple[torch.Tensor, dict]:
    case = vectors["cases"][1]
    return case["pose"], case["outputs"]


def test_morph_eyebrows_from_the_official_layers(net, vectors, mixed):
    pose, official = mixed
    outputs = vectors["decomposer_outputs"]
    layers = (outputs["eyebrow_decomposer.0"], outputs["eyebrow_decomposer.3"])
    eyebrows = net.morph_eyebrows(layers, pose)
    assert max_error(eyebrows, official["eyebrow_morphing_combiner.2"]) <= STAGE_TOLERANCE


def test_morph_face_pastes_the_morphed_face_into_the_image(net, vectors, mixed):
    pose, official = mixed
    image = vectors["image"]
    full = net.morph_face(image, official["eyebrow_morphing_combiner.2"], pose)
    assert max_error(full[:, :, 32:224, 32:224], official["face_morpher.0"]) <= STAGE_TOLERANCE
    outside = torch.ones_like(image, dtype=torch.bool)
    outside[:, :, 32:224, 32:224] = False
    assert torch.equal(full[outside], image[outside])


def _face_morphed(vectors: dict, official: dict) -> torch.Tensor:
    full = vectors["image"].clone()
    full[:, :, 32:224, 32:224] = official["face_morpher.0"]
    return full


def test_rotate_gives_the_recoloured_and_the_warped_head(net, vectors, mixed):
    pose, official = mixed
    recoloured, warped = net.rotate(_face_morphed(vectors, official), pose)
    assert max_error(recoloured, official["face_rotator.0"]) <= STAGE_TOLERANCE
    assert max_error(warped, official["face_rotator.1"]) <= STAGE_TOLERANCE


def test_edit_combines_the_rotator_results_into_the_final_image(net, vectors, mixed):
    pose, official = mixed
    rotated = (official["face_rotator.0"], official["face_rotator.1"])
    final = net.edit(_face_morphed(vectors, official), rotated, pose)
    assert max_error(final, official["combiner.0"]) <= STAGE_TOLERANCE


@pytest.mark.parametrize("case", [0, 1], ids=["mouth_only", "every_group"])
def test_whole_chain_poses_the_image_like_the_official_network(net, vectors, case):
    pose, official = vectors["cases"][case]["pose"], vectors["cases"][case]["outputs"]["combiner.0"]
    final = net(vectors["image"], pose)
    assert psnr(final, official) >= CHAIN_MIN_PSNR
    assert max_error(final, official) <= CHAIN_MAX_ERROR


def test_users_are_told_where_the_weights_come_from():
    text = tha2_weights_help()
    assert "github.com/pkhungurn/talking-head-anime-2-demo" in text
    assert "--weights DIR" in text and "--model tha2" in text
    assert all(name in text for name in ("eyebrow_decomposer.pt", "two_algo_face_rotator.pt", "combiner.pt"))
