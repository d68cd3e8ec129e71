"""Stage 3: eyes, irises and mouth on the 192x192 face crop; THA3's stage with plain convs.

THA2's checkpoint keeps the encoder-decoder's blocks at the top level (no `body.` prefix), so here the stage
is itself the encoder-decoder, with the same heads and image math as THA3's.
"""

from torch import Tensor

from vtube_plugin.nn.encoder_decoder import PoseEncoderDecoder
from vtube_plugin.nn.tha3.face_morpher import BODY, FaceMorphHeads


class FaceMorpher(FaceMorphHeads, PoseEncoderDecoder):
    def __init__(self):
        super().__init__(**BODY, separable=False)
        self.add_heads()

    def forward(self, crop: Tensor, pose: Tensor) -> Tensor:
        """-> the morphed 192x192 crop."""
        return self.morph(crop, super().forward(crop, pose))
