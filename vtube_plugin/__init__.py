"""vtube_plugin: stream as an anime character drawn in a single picture.

Tracking -> 42-parameter pose -> Talking Head Anime network -> OBS.
"""

__version__ = "0.1.0"
