"""THA2 assembled: the five stages, where they look in the 256x256 image, and the five official files.

The renderer calls the stages one by one so it can cache each result; `forward` runs them all. The stage
methods share THA3's names and arguments, so one renderer drives either model.
"""

from __future__ import annotations

from torch import Tensor

from vtube_plugin.nn.talking_head import TalkingHeadNetwork
from vtube_plugin.nn.tha2.combiner import Combiner
from vtube_plugin.nn.tha2.eyebrow_decomposer import EyebrowDecomposer
from vtube_plugin.nn.tha2.eyebrow_morphing_combiner import EyebrowMorphingCombiner
from vtube_plugin.nn.tha2.face_morpher import FaceMorpher
from vtube_plugin.nn.tha2.face_rotator import FaceRotator
from vtube_plugin.nn.tha2.weights import WEIGHTS, how_to_get
from vtube_plugin.pose import THA2_SIZE

IMAGE_SIZE = 256
POSE_SIZE = THA2_SIZE
ROTATION_SLICE = slice(39, THA2_SIZE)  # head_x, head_y, neck_z
HOW_TO_GET = how_to_get()


class THA2(TalkingHeadNetwork):
    image_size = IMAGE_SIZE
    character_box = (0, 128, IMAGE_SIZE)
    pose_size = POSE_SIZE
    eyebrow_box = (64, 64, 128)
    face_box = (32, 32, 192)
    weights = WEIGHTS
    how_to_get = HOW_TO_GET
    stage_modules = {"morph_eyebrows": "eyebrow_morphing_combiner", "morph_face": "face_morpher",
                     "rotate": "face_rotator", "edit": "combiner"}

    def __init__(self):
        super().__init__()
        self.eyebrow_decomposer = EyebrowDecomposer()
        self.eyebrow_morphing_combiner = EyebrowMorphingCombiner()
        self.face_morpher = FaceMorpher()
        self.face_rotator = FaceRotator()
        self.combiner = Combiner()

    def rotate(self, face_morphed: Tensor, pose: Tensor) -> tuple[Tensor, Tensor]:
        """-> (recoloured image, warped image), both 256x256."""
        return self.face_rotator(face_morphed, pose[:, ROTATION_SLICE])

    def edit(self, face_morphed: Tensor, rotated: tuple[Tensor, Tensor], pose: Tensor) -> Tensor:
        """-> the final image. THA2's combiner reads only the rotator's two images; `face_morphed` is taken
        so that THA2 and THA3 share one call sequence."""
        recoloured, warped = rotated
        return self.combiner(recoloured, warped, pose[:, ROTATION_SLICE])
