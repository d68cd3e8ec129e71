"""Which tracking source `--source` names, built on demand: each source's module is imported only when chosen.

`--source none` gives a source that never tracks: the character stays neutral (plus any expression layer).
"""

from __future__ import annotations

import importlib

from vtube_plugin.errors import UserError
from vtube_plugin.sources.frame import FaceFrame

# --source name -> (module, class, profile that fits its blendshape names)
SOURCES = {
    "webcam": ("vtube_plugin.sources.webcam", "WebcamSource", "arkit"),
    "vmc": ("vtube_plugin.sources.vmc", "VmcSource", "vrm"),
    "ifacialmocap": ("vtube_plugin.sources.ifacialmocap", "IFacialMocapSource", "arkit"),
    "none": ("", "", "arkit"),
}


class NoSource:
    """No tracker: `latest()` is always None."""

    name = "none"

    def __init__(self) -> None:
        self.stats = {"received": 0, "dropped": 0}

    def __enter__(self) -> "NoSource":
        return self

    def __exit__(self, *exc) -> None:
        return None

    def latest(self) -> FaceFrame | None:
        return None


def default_profile(kind: str) -> str:
    return SOURCES[kind][2]


def make_source(kind: str, **options):
    """The source for `kind`, constructed with the options given (None-valued ones are left to its defaults)."""
    if kind not in SOURCES:
        raise UserError(f"unknown source '{kind}'; use one of {', '.join(SOURCES)}")
    if kind == "none":
        return NoSource()
    module_name, class_name, _ = SOURCES[kind]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            raise UserError(f"the {kind} source is not part of this build of vtube-plugin") from None
        raise UserError(f"the {kind} source needs the package '{exc.name}': `pip install {exc.name}`") from None
    return getattr(module, class_name)(**{k: v for k, v in options.items() if v is not None})
