"""What THA2 and THA3 share (`TalkingHeadNetwork`): five stage modules loaded from five files, and the first
three stages (eyebrows, then the face) with the crops and pastes between them. Each model adds its own rotate and edit.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import torch
from torch import Tensor, nn

from vtube_plugin.nn.checkpoint import load_checkpoint
from vtube_plugin.nn.weights import WeightFile
from vtube_plugin.pose import EYEBROW_SLICE, FACE_SLICE

P = TypeVar("P", bound="TalkingHeadNetwork")
Box = tuple[int, int, int]  # (top, left, size) of a square region of the character image


def crop(image: Tensor, box: Box) -> Tensor:
    top, left, size = box
    return image[:, :, top:top + size, left:left + size]


def paste(image: Tensor, patch: Tensor, top: int, left: int) -> Tensor:
    """A new image: `image` with the square `patch` laid over it at (top, left).

    Built with concatenation, not a clone and an in-place copy: an exported (traced) graph of the in-place
    version came out empty. The numbers are the same (plain copies).
    """
    size = patch.shape[-1]
    row = torch.cat([image[:, :, top:top + size, :left], patch, image[:, :, top:top + size, left + size:]], dim=3)
    return torch.cat([image[:, :, :top], row, image[:, :, top + size:]], dim=2)


class TalkingHeadNetwork(nn.Module):
    image_size: int
    pose_size: int
    # Where this network's input sits in a 512x512 character framed by our rules (head in the 128x128 box
    # centred in the top half): all of it for THA3, the top-centre 256x256 for THA2, whose head sits in
    # the middle 128x128 box of its 256x256 input.
    character_box: Box
    eyebrow_box: Box  # where the eyebrow stages look in the character image
    face_box: Box  # where the face morpher looks
    weights: dict[str, WeightFile]  # stage attribute -> its checkpoint file (declared in the model's weights.py)
    how_to_get: str  # ends every weight-loading error: where users get the files
    # The renderer's per-frame stages -> the module each runs (a stage's precision and upsampling form are
    # set on that module alone: render/plan.py).
    stage_modules: dict[str, str]

    eyebrow_decomposer: nn.Module
    eyebrow_morphing_combiner: nn.Module
    face_morpher: nn.Module

    @classmethod
    def from_dir(cls: type[P], weights_dir: Path) -> P:
        net = cls()
        for attr, weight in cls.weights.items():
            load_checkpoint(getattr(net, attr), Path(weights_dir) / weight.name, how_to_get=cls.how_to_get)
        return net.eval()

    # --- the stages, in order; each takes what the one before produced --------------------------
    def decompose(self, image: Tensor) -> tuple[Tensor, Tensor]:
        """-> (eyebrow layer, background layer). Depends on the character only."""
        return self.eyebrow_decomposer(crop(image, self.eyebrow_box))

    def morph_eyebrows(self, decomposed: tuple[Tensor, Tensor], pose: Tensor) -> Tensor:
        eyebrow, background = decomposed
        return self.eyebrow_morphing_combiner(background, eyebrow, pose[:, EYEBROW_SLICE])

    def morph_face(self, image: Tensor, eyebrows: Tensor, pose: Tensor) -> Tensor:
        """-> the whole image with the morphed face pasted in."""
        face_crop = paste(crop(image, self.face_box), eyebrows,
                          self.eyebrow_box[0] - self.face_box[0], self.eyebrow_box[1] - self.face_box[1])
        face = self.face_morpher(face_crop, pose[:, FACE_SLICE])
        return paste(image, face, self.face_box[0], self.face_box[1])

    def rotate(self, face_morphed: Tensor, pose: Tensor) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    def edit(self, face_morphed: Tensor, rotated: tuple[Tensor, Tensor], pose: Tensor) -> Tensor:
        raise NotImplementedError

    def forward(self, image: Tensor, pose: Tensor) -> Tensor:
        face = self.morph_face(image, self.morph_eyebrows(self.decompose(image), pose), pose)
        return self.edit(face, self.rotate(face, pose), pose)
