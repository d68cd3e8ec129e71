"""Turns what the user wrote after --output (virtualcam, window, file:PATH, browser, spout, syphon) into sinks,
not yet opened; every mistake is said here, before the slow model load.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from vtube_plugin.errors import UserError
from vtube_plugin.sinks.compose import Background

OUTPUT_HELP = ("browser[:port=N,host=ADDR] (a page for OBS's Browser Source, with transparency), virtualcam, "
               "window, file:PATH (.mp4 or .webm), spout[:name=N] (Windows), syphon[:name=N] (macOS); "
               "repeat --output for several")
# The outputs that take key=value options after the colon, and each option's type.
OPTIONS: dict[str, dict[str, type]] = {
    "browser": {"port": int, "host": str},
    "spout": {"name": str},
    "syphon": {"name": str},
}


def parse_output(spec: str) -> tuple[str, str]:
    """'virtualcam' -> ("virtualcam", ""), 'file:out.mp4' -> ("file", "out.mp4"), 'browser:port=8080' ->
    ("browser", "port=8080"); a UserError for anything else."""
    kind, _, rest = spec.partition(":")
    kind = kind.strip().lower()
    if kind in ("virtualcam", "window") and not rest:
        return kind, ""
    if kind in OPTIONS:
        options = output_options(kind, rest)
        if kind == "browser":
            from vtube_plugin.sinks.browser import DEFAULT_PORT, check_free

            check_free(str(options.get("host", "127.0.0.1")), int(options.get("port", DEFAULT_PORT)))
        return kind, rest.strip()
    if kind == "file":
        if not rest.strip():
            raise UserError("--output file: needs a path, for example --output file:stream.mp4")
        if not rest.lower().endswith((".mp4", ".webm")):
            raise UserError(f"--output {spec}: the file must end in .mp4 or .webm")
        folder = Path(rest).expanduser().parent
        if not folder.is_dir():  # said now, not after the slow model load
            raise UserError(f"--output {spec}: the folder {folder} does not exist")
        return kind, rest
    raise UserError(f"--output '{spec}' is not one of: {OUTPUT_HELP}")


def output_options(kind: str, text: str) -> dict[str, object]:
    """`port=8080,host=0.0.0.0` -> {"port": 8080, "host": "0.0.0.0"}, checked."""
    known = OPTIONS[kind]
    options: dict[str, object] = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        key, eq, value = (s.strip() for s in item.partition("="))
        if not eq or key not in known or not value:
            raise UserError(f"--output {kind}: '{item}' is not an option of this output. "
                            f"Options: {', '.join(f'{k}=' for k in known)}")
        if known[key] is int:
            if not value.isdigit():
                raise UserError(f"--output {kind}:{key}={value}: {key} must be a whole number")
            options[key] = int(value)
        else:
            options[key] = value
    port = options.get("port")
    if port is not None and not 1 <= port <= 65535:
        raise UserError(f"--output {kind}:port={port}: the port must be between 1 and 65535")
    host = options.get("host")
    if host is not None and host != "localhost":
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise UserError(f"--output {kind}:host={host}: host must be an address of this PC: 127.0.0.1 (this PC "
                            "only, the default) or 0.0.0.0 (the LAN too, with a token)") from None
    return options


def make_sink(spec: str, *, size: tuple[int, int], fps: float, background: Background,
              pixel_format: str = "RGB", device: str | None = None, backend: str | None = None):
    kind, rest = parse_output(spec)
    if kind == "virtualcam":
        from vtube_plugin.sinks.virtualcam import VirtualCameraSink

        return VirtualCameraSink(size[0], size[1], fps, background=background, pixel_format=pixel_format, device=device,
                                 backend=backend)
    if kind == "window":
        from vtube_plugin.sinks.window import WindowSink

        return WindowSink(size, background=background)
    if kind == "browser":
        from vtube_plugin.sinks.browser import BrowserSink

        return BrowserSink(size, **output_options(kind, rest))  # type: ignore[arg-type]
    if kind == "spout":
        from vtube_plugin.sinks.spout import SpoutSink

        return SpoutSink(**output_options(kind, rest))  # type: ignore[arg-type]
    if kind == "syphon":
        from vtube_plugin.sinks.syphon import SyphonSink

        return SyphonSink(**output_options(kind, rest))  # type: ignore[arg-type]
    from vtube_plugin.sinks.file import FileSink

    return FileSink(rest, size, fps, background=background)
