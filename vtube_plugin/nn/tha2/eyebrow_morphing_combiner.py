"""Stage 2: warp and recolour the eyebrow layer for the 12 eyebrow values, then lay it over the background.

THA3 kept this stage as it was and only made its convs separable, so THA2's is THA3's with plain convs.
"""

from vtube_plugin.nn.tha3.eyebrow_morphing_combiner import EyebrowMorphingCombiner as _SharedCombiner


class EyebrowMorphingCombiner(_SharedCombiner):
    def __init__(self):
        super().__init__(separable=False)
