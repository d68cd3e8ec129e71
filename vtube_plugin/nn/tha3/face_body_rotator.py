"""Stage 4: turn head and body at 256x256; yields a warped image and the warp itself for the editor."""

import torch
from torch import Tensor, nn

from vtube_plugin.nn.blocks import color_head, grid_head
from vtube_plugin.nn.encoder_decoder import ResizeEncoderDecoder, tile_pose
from vtube_plugin.nn.image_ops import warp


class FaceBodyRotator(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder_decoder = ResizeEncoderDecoder(image_size=256, in_ch=4 + 6, start_ch=64, bottleneck_size=32,
                                                    num_bottleneck_blocks=6, max_ch=512, separable=True,
                                                    act="leaky_relu")
        # The "direct" algorithm's head: trained, but the editor only uses the warp, so it is never run.
        self.direct_creator = color_head(64)
        self.grid_change_creator = grid_head(64)

    def forward(self, image: Tensor, pose: Tensor) -> tuple[Tensor, Tensor]:
        """-> (warped image, grid change), both at 256x256."""
        feature = self.encoder_decoder(torch.cat([image, tile_pose(pose, image.shape[-1])], dim=1))
        grid_change = self.grid_change_creator(feature)
        return warp(image, grid_change), grid_change
