"""Stage 3: eyes, irises and mouth on the 192x192 face crop (a warp for irises and mouth, two colour changes)."""

from torch import Tensor, nn

from vtube_plugin.nn.blocks import alpha_head, color_head, grid_head, run_heads
from vtube_plugin.nn.encoder_decoder import PoseEncoderDecoder
from vtube_plugin.nn.image_ops import partial_change, warp

BODY = dict(image_size=192, in_ch=4, start_ch=64, bottleneck_size=24, num_bottleneck_blocks=6, max_ch=512,
            num_pose=27)


class FaceMorphHeads:
    """The five heads and the image math they drive, for a module that makes the 64-channel feature.
    Shared with THA2's face morpher, whose checkpoint lays the encoder-decoder out differently."""

    def add_heads(self) -> None:
        self.iris_mouth_grid_change = grid_head(64)
        self.iris_mouth_color_change = color_head(64)
        self.iris_mouth_alpha = alpha_head(64)
        self.eye_color_change = color_head(64)
        self.eye_alpha = alpha_head(64)

    def morph(self, crop: Tensor, feature: Tensor) -> Tensor:
        grid_change, iris_mouth_color, iris_mouth_alpha, eye_color, eye_alpha = run_heads(
            feature, self.iris_mouth_grid_change, self.iris_mouth_color_change, self.iris_mouth_alpha,
            self.eye_color_change, self.eye_alpha)
        image = partial_change(warp(crop, grid_change), iris_mouth_color, iris_mouth_alpha)
        return partial_change(image, eye_color, eye_alpha)


class FaceMorpher(FaceMorphHeads, nn.Module):
    def __init__(self):
        super().__init__()
        self.body = PoseEncoderDecoder(**BODY, separable=True)
        self.add_heads()

    def forward(self, crop: Tensor, pose: Tensor) -> Tensor:
        """-> the morphed 192x192 crop."""
        return self.morph(crop, self.body(crop, pose))
