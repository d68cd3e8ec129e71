"""Character pictures: loading one for the network (`load.py`), fitting any picture to the network's frame
(`fit.py`) and saying what will go wrong with one (`check.py`)."""

from vtube_plugin.character.load import GUIDE, MAX_SIDE, MIN_SIZE, load_character, load_character_or_sample

__all__ = ["GUIDE", "MAX_SIDE", "MIN_SIZE", "load_character", "load_character_or_sample"]
