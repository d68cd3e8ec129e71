"""A live session assembled from one typed `LiveConfig`: source, mapper, expressions, renderer, sinks,
calibration kept on disk, and the console. `vtube-plugin run` fills the config from its options; a GUI or the
poser can start the same pipeline without argparse.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import TextIO

from vtube_plugin.errors import UserError
from vtube_plugin.expressions.settings import ExpressionSettings
from vtube_plugin.render.settings import RenderSettings


@dataclass
class LiveConfig:
    source: str = "none"  # a name registered in vtube_plugin.sources
    source_options: dict[str, object] = field(default_factory=dict)
    profile: str | None = None  # a bundled or user profile name, or a .toml path; None: the source's own default
    character: str | None = None  # None: the sample character from `models fetch`
    outputs: tuple[str, ...] = ("virtualcam",)  # what --output takes (sinks.choose)
    size: tuple[int, int] | None = None  # None: the renderer's own square frame
    fps: float = 30.0
    background: str = "#00ff00"  # a colour or an image file, behind transparent pixels
    pixel_format: str = "rgb"  # virtual camera: rgb or bgr
    virtualcam_device: str | None = None
    record_poses: str | None = None  # a .jsonl path: one line per rendered frame
    max_frames: int | None = None
    lost_after: float = 0.75  # seconds without tracking before the pose eases back
    use_calibration: bool = True  # subtract the neutral face stored for this source and profile
    render: RenderSettings = field(default_factory=RenderSettings)
    expressions: ExpressionSettings = field(default_factory=ExpressionSettings)

    def check(self) -> None:
        """Everything that can be said before anything slow starts; a UserError for the first mistake."""
        if self.fps <= 0 or self.fps > 240:
            raise UserError(f"--fps must be between 0 and 240, got {self.fps:g}")
        if self.max_frames is not None and self.max_frames < 1:
            raise UserError(f"--max-frames must be at least 1, got {self.max_frames}")
        if self.lost_after <= 0:
            raise UserError(f"--lost-after must be more than 0 seconds, got {self.lost_after:g}")


def run_live(config: LiveConfig, *, console: bool = True, status_stream: TextIO | None = None):
    """Stream until Ctrl+C, q, SIGTERM/SIGHUP, a closed window or max_frames; returns the LiveSummary."""
    from vtube_plugin.character import load_character_or_sample
    from vtube_plugin.expressions.control import execute
    from vtube_plugin.expressions.settings import start_expressions
    from vtube_plugin.live.console import ConsoleCommands
    from vtube_plugin.live.loop import LiveLoop
    from vtube_plugin.live.signals import stop_on_signals
    from vtube_plugin.mapping.calibration import load_calibration, save_calibration
    from vtube_plugin.mapping.mapper import Mapper
    from vtube_plugin.mapping.profile import load_profile
    from vtube_plugin.sinks.choose import make_sink, parse_output
    from vtube_plugin.sinks.compose import parse_background
    from vtube_plugin.sources import make_source, source_class

    config.check()
    profile = load_profile(config.profile or source_class(config.source).DEFAULT_PROFILE)
    background = parse_background(config.background)
    for spec in config.outputs:
        parse_output(spec)
    renderer = config.render.load()
    renderer.set_character(load_character_or_sample(config.character, renderer.size))
    size = config.size or (renderer.size, renderer.size)
    sinks = [make_sink(spec, size=size, fps=config.fps, background=background,
                       pixel_format=config.pixel_format.upper(), device=config.virtualcam_device)
             for spec in config.outputs]

    calibration = load_calibration(config.source, profile.name) if config.use_calibration else None
    mapper = Mapper(profile, calibration)

    def saved(cal) -> str:
        return str(save_calibration(cal, config.source, profile.name))

    # Expression presets over the tracking: OBS hotkeys, `vtube-plugin expression`, keys, or names typed here.
    layer = start_expressions(config.expressions, console=False)

    def typed(line: str) -> None:
        print(execute(layer, line, default_action="press"), file=sys.stderr, flush=True)

    try:
        loop = LiveLoop(
            source=make_source(config.source, config.source_options),
            mapper=mapper,
            renderer=renderer,
            sinks=sinks,
            fps=config.fps,
            lost_after=config.lost_after,
            expressions=layer,
            record_poses=config.record_poses,
            max_frames=config.max_frames,
            on_calibrated=saved,
            console=ConsoleCommands(other=typed) if console else None,
            status_stream=status_stream,
        )
        print(f"profile {profile.name}" + (" (calibrated)" if calibration else " (not calibrated: type c + Enter)")
              + f"; output {', '.join(config.outputs)} at {size[0]}x{size[1]}, {config.fps:g} fps", file=sys.stderr)
        with stop_on_signals(loop.stop):  # SIGTERM, a closed terminal: stop as Ctrl+C does, recordings kept
            return loop.run()
    finally:
        layer.close()
