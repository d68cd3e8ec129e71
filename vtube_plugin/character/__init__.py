"""Character pictures: loading one for the network (`load.py`), fitting any picture to the network's frame
(`fit.py`, `head.py`, `background.py`), saying what will go wrong with one (`check.py`), and a preview of it
in a few poses (`preview.py`)."""

from vtube_plugin.character.check import Finding, check_character, warn_about_framing
from vtube_plugin.character.fit import FitResult, fit_character
from vtube_plugin.character.load import GUIDE, MAX_SIDE, MIN_SIZE, load_character
from vtube_plugin.character.picked import load_character_or_sample, load_users_character

__all__ = ["GUIDE", "MAX_SIDE", "MIN_SIZE", "Finding", "FitResult", "check_character", "fit_character",
           "load_character", "load_character_or_sample", "load_users_character", "warn_about_framing"]
