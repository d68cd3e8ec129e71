"""Stage 5: blend the rotator's two results per pixel and channel, then retouch colour: the final image."""

import torch
from torch import Tensor, nn

from vtube_plugin.nn.blocks import alpha_head, color_head, run_heads
from vtube_plugin.nn.encoder_decoder import UNet, tile_pose
from vtube_plugin.nn.image_ops import partial_change


class Combiner(nn.Module):
    def __init__(self):
        super().__init__()
        self.main_body = UNet(image_size=256, in_ch=4 + 4 + 3, start_ch=64, bottleneck_size=32,
                              num_bottleneck_blocks=6, max_ch=512, separable=False, act="relu")
        self.combine_alpha_mask = alpha_head(64, 4, kernel=7, bias=False)
        self.retouch_alpha_mask = alpha_head(64, 4, kernel=7, bias=False)
        self.retouch_color_change = color_head(64, 4, kernel=7, bias=False)

    def forward(self, recoloured: Tensor, warped: Tensor, pose: Tensor) -> Tensor:
        """-> the final 256x256 image."""
        feature = self.main_body(torch.cat([recoloured, warped, tile_pose(pose, recoloured.shape[-1])], dim=1))
        combine_alpha, retouch_color, retouch_alpha = run_heads(
            feature, self.combine_alpha_mask, self.retouch_color_change, self.retouch_alpha_mask)
        combined = partial_change(warped, recoloured, combine_alpha)
        # The retouch mask, too, says how much to keep.
        return partial_change(retouch_color, combined, retouch_alpha)
