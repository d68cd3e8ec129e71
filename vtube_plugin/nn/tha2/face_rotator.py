"""Stage 4: turn the head (head_x, head_y, neck_z) two ways at once: by recolouring and by warping.

The combiner then blends the two. Unlike the face stages, this warp samples with align_corners=True.
"""

import torch
from torch import Tensor, nn

from vtube_plugin.nn.blocks import alpha_head, color_head, grid_head, run_heads
from vtube_plugin.nn.encoder_decoder import EncoderDecoder, tile_pose
from vtube_plugin.nn.image_ops import partial_change, warp


class FaceRotator(nn.Module):
    def __init__(self):
        super().__init__()
        self.main_body = EncoderDecoder(image_size=256, in_ch=4 + 3, start_ch=64, bottleneck_size=32,
                                        num_bottleneck_blocks=6, max_ch=512, separable=False, act="relu")
        self.pumarola_color_change = color_head(64, 4, kernel=7, bias=False)
        self.pumarola_alpha_mask = alpha_head(64, 4, kernel=7, bias=False)
        self.zhou_grid_change = grid_head(64, kernel=7)

    def forward(self, image: Tensor, pose: Tensor) -> tuple[Tensor, Tensor]:
        """-> (recoloured image, warped image), both 256x256."""
        feature = self.main_body(torch.cat([image, tile_pose(pose, image.shape[-1])], dim=1))
        # Here the alpha mask says how much of the input to keep, the reverse of a partial change's usual roles.
        color, alpha, grid_change = run_heads(feature, self.pumarola_color_change, self.pumarola_alpha_mask,
                                              self.zhou_grid_change)
        recoloured = partial_change(color, image, alpha)
        warped = warp(image, grid_change, align_corners=True)
        return recoloured, warped
