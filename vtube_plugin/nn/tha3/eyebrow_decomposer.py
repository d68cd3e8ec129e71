"""Stage 1: split the 128x128 face crop into an eyebrow layer and the face without eyebrows."""

from torch import Tensor, nn

from vtube_plugin.nn.blocks import alpha_head, color_head, run_heads
from vtube_plugin.nn.encoder_decoder import PoseEncoderDecoder
from vtube_plugin.nn.image_ops import partial_change


class EyebrowDecomposer(nn.Module):
    def __init__(self, separable: bool = True):
        super().__init__()
        self.body = PoseEncoderDecoder(image_size=128, in_ch=4, start_ch=64, bottleneck_size=16,
                                       num_bottleneck_blocks=6, max_ch=512, num_pose=0, separable=separable)
        self.background_layer_alpha = alpha_head(64)
        self.background_layer_color_change = color_head(64)
        self.eyebrow_layer_alpha = alpha_head(64)
        self.eyebrow_layer_color_change = color_head(64)

    def forward(self, crop: Tensor) -> tuple[Tensor, Tensor]:
        """-> (eyebrow_layer, background_layer), each (n, 4, 128, 128)."""
        feature = self.body(crop)
        bg_color, bg_alpha, eb_color, eb_alpha = run_heads(
            feature, self.background_layer_color_change, self.background_layer_alpha,
            self.eyebrow_layer_color_change, self.eyebrow_layer_alpha)
        background = partial_change(crop, bg_color, bg_alpha)
        # The eyebrow layer keeps the crop where alpha is high and the generated colour elsewhere.
        eyebrow = partial_change(eb_color, crop, eb_alpha)
        return eyebrow, background
