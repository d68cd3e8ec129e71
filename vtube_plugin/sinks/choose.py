"""Turns what the user wrote after --output (virtualcam, window, file:PATH) into sinks, not yet opened."""

from __future__ import annotations

from pathlib import Path

from vtube_plugin.errors import UserError
from vtube_plugin.sinks.compose import Background

OUTPUT_HELP = "virtualcam, window or file:PATH (.mp4 or .webm); repeat --output for several"


def parse_output(spec: str) -> tuple[str, str]:
    """'virtualcam' -> ("virtualcam", ""), 'file:out.mp4' -> ("file", "out.mp4"); a UserError for anything else."""
    kind, _, rest = spec.partition(":")
    kind = kind.strip().lower()
    if kind in ("virtualcam", "window") and not rest:
        return kind, ""
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


def make_sink(spec: str, *, size: tuple[int, int], fps: float, background: Background,
              pixel_format: str = "RGB", device: str | None = None):
    kind, path = parse_output(spec)
    if kind == "virtualcam":
        from vtube_plugin.sinks.virtualcam import VirtualCameraSink

        return VirtualCameraSink(size[0], size[1], fps, background=background, pixel_format=pixel_format, device=device)
    if kind == "window":
        from vtube_plugin.sinks.window import WindowSink

        return WindowSink(size, background=background)
    from vtube_plugin.sinks.file import FileSink

    return FileSink(path, size, fps, background=background)
