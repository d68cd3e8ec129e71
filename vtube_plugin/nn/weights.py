"""How a model declares its weight files (timm's habit): one `WeightFile` per stage, next to the network.

The loader (`TalkingHeadNetwork.from_dir`) and the fetcher (`models/store.py`) both read the same declaration.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WeightFile:
    name: str  # the file's name in the weights folder
    sha256: str | None = None  # None where the files are not ours to publish (THA2)
    size: int | None = None  # bytes
