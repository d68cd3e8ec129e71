"""Stage 1: split the 128x128 face crop into an eyebrow layer and the face without eyebrows.

THA3 kept this stage as it was and only made its convs separable, so THA2's is THA3's with plain convs.
"""

from vtube_plugin.nn.tha3.eyebrow_decomposer import EyebrowDecomposer as _SharedDecomposer


class EyebrowDecomposer(_SharedDecomposer):
    def __init__(self):
        super().__init__(separable=False)
