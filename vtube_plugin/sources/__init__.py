"""Tracking sources: each speaks one protocol and yields FaceFrames; none knows about poses.

`open_source("vmc:port=39540")` builds one from the text a user types: a source name, then optional
`key=value` options separated by commas. Sources are imported only when chosen, so MediaPipe loads
only for the webcam.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from vtube_plugin.errors import UserError
from vtube_plugin.ports import PortError

if TYPE_CHECKING:
    from vtube_plugin.sources.base import Source

# name -> (module, class); a source's module is imported only when it is chosen.
SOURCES = {
    "vmc": ("vtube_plugin.sources.vmc", "VmcSource"),
    "ifacialmocap": ("vtube_plugin.sources.ifacialmocap", "IFacialMocapSource"),
    "vtube_studio": ("vtube_plugin.sources.vtube_studio", "VTubeStudioSource"),
    "openseeface": ("vtube_plugin.sources.openseeface", "OpenSeeFaceSource"),
    "webcam": ("vtube_plugin.sources.webcam", "WebcamSource"),
    "none": ("vtube_plugin.sources.none", "NoSource"),
}
DEFAULT_SOURCE = "webcam"  # what `run` reads when no --source is given: it needs nothing but a camera

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _convert(source: str, key: str, text: str, kind: type) -> object:
    if kind is bool:
        if text.lower() in _TRUE | _FALSE:
            return text.lower() in _TRUE
        raise UserError(f"{source}: {key}={text} should be on or off")
    try:
        return kind(text)
    except PortError as err:
        raise UserError(f"{source}: {key}={err}") from None
    except ValueError:
        raise UserError(f"{source}: {key}={text} should be a {'whole number' if kind is int else 'number'}") from None


def source_class(name: str) -> type[Source]:
    if name not in SOURCES:
        raise UserError(f"unknown source '{name}'. Choose one of: {', '.join(SOURCES)}.")
    module, cls = SOURCES[name]
    return getattr(importlib.import_module(module), cls)


def parse_source(spec: str) -> tuple[str, dict[str, object]]:
    """`name[:key=value,...]` -> (name, options converted to the source's types); a UserError for a wrong one."""
    name, _, rest = spec.strip().partition(":")
    name = name.strip().lower()
    cls = source_class(name)
    options: dict[str, object] = {}
    for item in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = item.partition("=")
        key = key.strip()
        if not eq or key not in cls.OPTIONS:
            known = ", ".join(f"{k}=" for k in cls.OPTIONS)
            raise UserError(f"{name}: '{item}' is not an option of this source. Options: {known}")
        options[key] = _convert(name, key, value.strip(), cls.OPTIONS[key])
    return name, options


def check_options(name: str, options: dict[str, object]) -> dict[str, object]:
    """Options given as values (a JSON object from the studio: {"port": 39539, "mirror": true}) -> the same
    options converted to the source's types, as `parse_source` does for text; a UserError for a wrong one."""
    cls = source_class(name)
    checked: dict[str, object] = {}
    for key, value in options.items():
        if key not in cls.OPTIONS:
            known = ", ".join(cls.OPTIONS) or "(none)"
            raise UserError(f"{name}: {str(key)[:80]!r} is not an option of this source. Options: {known}")
        if isinstance(value, bool):
            text = "on" if value else "off"
        elif isinstance(value, (str, int, float)):
            text = str(value)
        else:
            raise UserError(f"{name}: {key} should be a number, text, or on/off")
        checked[key] = _convert(name, key, text.strip(), cls.OPTIONS[key])
    return checked


def make_source(name: str, options: dict[str, object]) -> Source:
    """A (not yet started) source; a value the source rejects (ValueError) becomes a UserError."""
    try:
        return source_class(name)(**options)
    except ValueError as err:
        raise UserError(f"{name}: {err}") from None


def open_source(spec: str) -> Source:
    """A (not yet started) source from `name[:key=value,...]`, e.g. `webcam:device=1,mirror=on`."""
    return make_source(*parse_source(spec))
