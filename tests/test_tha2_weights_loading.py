"""Pointing THA2 at a folder of weights that are not right: every failure is a UserError that names the file,
says what was expected, and tells the user where the weights come from. Files are only ever loaded as data."""

from __future__ import annotations

import pickle
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from vtube_plugin.errors import UserError
from vtube_plugin.models.store import THA2_DEMO_URL as DEMO_URL
from vtube_plugin.models.store import THA2_WEIGHT_FILES
from vtube_plugin.nn.tha2.network import THA2
from vtube_plugin.nn.tha3.eyebrow_decomposer import EyebrowDecomposer as THA3EyebrowDecomposer


@pytest.fixture
def weights(tha2_weights_dir: Path, tmp_path: Path) -> Iterator[Path]:
    """A user's weights folder: the five good files (as links), ready to be spoiled one at a time."""
    folder = tmp_path / "tha2"
    folder.mkdir()
    for name in THA2_WEIGHT_FILES:
        (folder / name).symlink_to(tha2_weights_dir / name)
    yield folder
    shutil.rmtree(folder)  # spoilt copies are 100+ MB; pytest would keep them for three runs


def replace(folder: Path, name: str) -> Path:
    path = folder / name
    path.unlink()
    return path


def load_error(folder: Path) -> str:
    with pytest.raises(UserError) as caught:
        THA2.from_dir(folder)
    message = str(caught.value)
    assert DEMO_URL in message and "--weights DIR" in message  # every message says where the weights come from
    return message


def first_file_state(folder: Path) -> dict:
    return torch.load(folder / "eyebrow_decomposer.pt", weights_only=True)


def test_the_good_folder_loads(weights):
    net = THA2.from_dir(weights)
    assert not net.training
    assert torch.equal(net.combiner.retouch_color_change[0].weight,
                       torch.load(weights / "combiner.pt", weights_only=True)["retouch_color_change.0.weight"])


def test_a_missing_file(weights):
    replace(weights, "combiner.pt")
    message = load_error(weights)
    assert f"weights file missing: {weights / 'combiner.pt'}" in message
    assert "Combiner network" in message


def test_a_folder_that_does_not_exist(tmp_path):
    message = load_error(tmp_path / "nowhere")
    assert f"the folder {tmp_path / 'nowhere'} does not exist" in message


def test_a_renamed_key(weights):
    state = first_file_state(weights)
    state["body.downsample_blocks.0.0.kernel"] = state.pop("body.downsample_blocks.0.0.weight")
    torch.save(state, replace(weights, "eyebrow_decomposer.pt"))
    message = load_error(weights)
    assert f"{weights / 'eyebrow_decomposer.pt'} does not match the EyebrowDecomposer network" in message
    assert "1 expected key(s) missing, e.g. body.downsample_blocks.0.0.weight" in message
    assert "1 unknown key(s), e.g. body.downsample_blocks.0.0.kernel" in message


def test_a_wrong_shape(weights):
    state = first_file_state(weights)
    state["body.bottleneck_blocks.0.0.weight"] = torch.zeros(512, 512, 1, 1)
    torch.save(state, replace(weights, "eyebrow_decomposer.pt"))
    message = load_error(weights)
    assert (f"{weights / 'eyebrow_decomposer.pt'}: 'body.bottleneck_blocks.0.0.weight' has shape (512, 512, 1, 1), "
            f"expected (512, 512, 3, 3)") in message


def test_tha3_weights_given_for_tha2(weights):
    # Same file name, same stage, but THA3's separable convs: a folder mix-up users can make.
    torch.save(THA3EyebrowDecomposer().state_dict(), replace(weights, "eyebrow_decomposer.pt"))
    message = load_error(weights)
    assert "does not match the EyebrowDecomposer network" in message
    assert "unknown key(s), e.g. body.downsample_blocks.0.2.weight" in message


def test_a_truncated_file(weights):
    path = weights / "eyebrow_decomposer.pt"
    with path.open("rb") as f:
        start = f.read(path.stat().st_size // 3)
    replace(weights, "eyebrow_decomposer.pt").write_bytes(start)
    message = load_error(weights)
    assert f"{path} is not a readable PyTorch checkpoint: truncated" in message
    assert "Expected the weights of the EyebrowDecomposer network" in message


def test_a_web_page_saved_under_the_file_name(weights):
    # What a failed download of a share link leaves behind.
    replace(weights, "eyebrow_decomposer.pt").write_text("<!DOCTYPE html><html><body>Sign in</body></html>")
    message = load_error(weights)
    assert f"{weights / 'eyebrow_decomposer.pt'} is not a readable PyTorch checkpoint" in message
    assert "Expected the weights of the EyebrowDecomposer network" in message


def test_a_list_instead_of_a_state_dict(weights):
    torch.save([torch.zeros(3)], replace(weights, "eyebrow_decomposer.pt"))
    message = load_error(weights)
    assert f"{weights / 'eyebrow_decomposer.pt'} does not hold a state_dict" in message


class _RunsCodeWhenUnpickled:
    marker: Path

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_pickle_that_would_run_code_is_refused_unopened(weights, tmp_path):
    bomb = _RunsCodeWhenUnpickled()
    bomb.marker = tmp_path / "code-ran"
    with replace(weights, "eyebrow_decomposer.pt").open("wb") as f:
        pickle.dump({"body.downsample_blocks.0.0.weight": bomb}, f, protocol=2)  # torch.save's protocol
    message = load_error(weights)
    assert "holds Python objects besides tensors" in message
    assert not bomb.marker.exists()
