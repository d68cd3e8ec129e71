"""Stage 2: warp and recolour the eyebrow layer for the eyebrow pose, then lay it over the background."""

import torch
from torch import Tensor, nn

from vtube_plugin.nn.blocks import alpha_head, color_head, grid_head, run_heads
from vtube_plugin.nn.encoder_decoder import PoseEncoderDecoder
from vtube_plugin.nn.image_ops import combine, partial_change, warp


class EyebrowMorphingCombiner(nn.Module):
    def __init__(self, separable: bool = True):
        super().__init__()
        self.body = PoseEncoderDecoder(image_size=128, in_ch=8, start_ch=64, bottleneck_size=16,
                                       num_bottleneck_blocks=6, max_ch=512, num_pose=12, separable=separable)
        self.morphed_eyebrow_layer_grid_change = grid_head(64)
        self.morphed_eyebrow_layer_alpha = alpha_head(64)
        self.morphed_eyebrow_layer_color_change = color_head(64)
        # Trained but unused at inference: the poser combines with the morphed layer's own alpha.
        self.combine_alpha = alpha_head(64)

    def forward(self, background: Tensor, eyebrow: Tensor, pose: Tensor) -> Tensor:
        """-> the 128x128 face with posed eyebrows."""
        feature = self.body(torch.cat([background, eyebrow], dim=1), pose)
        grid_change, color, alpha = run_heads(feature, self.morphed_eyebrow_layer_grid_change,
                                              self.morphed_eyebrow_layer_color_change, self.morphed_eyebrow_layer_alpha)
        morphed = partial_change(warp(eyebrow, grid_change), color, alpha)
        return combine(morphed, background, (morphed[:, 3:4] + 1.0) * 0.5)
