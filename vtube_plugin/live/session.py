"""A live session assembled from one typed `LiveConfig`: source, mapper, expressions, renderer, sinks,
calibration kept on disk, and the console. `vtube-plugin run` fills the config from its options; a GUI or the
poser can start the same pipeline without argparse.
"""

from __future__ import annotations

import sys
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import TextIO

from vtube_plugin.audio.lip_sync import LipSyncSettings
from vtube_plugin.errors import UserError
from vtube_plugin.live.console_writer import ConsoleWriter
from vtube_plugin.live.expression_inputs import ExpressionSettings
from vtube_plugin.live.smooth_modes import DEFAULT as SMOOTH_DEFAULT
from vtube_plugin.live.smooth_modes import check_mode
from vtube_plugin.render.settings import RenderSettings


@dataclass
class LiveConfig:
    source: str = "none"  # a name registered in vtube_plugin.sources
    source_options: dict[str, object] = field(default_factory=dict)
    profile: str | None = None  # a bundled or user profile name, or a .toml path; None: the source's own default
    character: str | None = None  # None: the sample character from `models fetch`
    outputs: tuple[str, ...] = ("browser",)  # what --output takes (sinks.choose); the page keeps alpha on every OS
    size: tuple[int, int] | None = None  # None: the renderer's own square frame
    fps: float = 30.0
    background: str = "#00ff00"  # a colour or an image file, behind transparent pixels
    pixel_format: str = "rgb"  # virtual camera: rgb or bgr
    virtualcam_device: str | None = None
    record_poses: str | None = None  # a .jsonl path: one line per rendered frame
    max_frames: int | None = None
    lost_after: float = 0.75  # seconds without tracking before the pose eases back
    use_calibration: bool = True  # subtract the neutral face stored for this source and profile
    send_vmc: str | None = None  # HOST:PORT: forward what we track over VMC (sources/vmc_send.py)
    send_vmc_rate: float = 60.0  # frames a second at most, independent of fps
    send_vmc_names: str = "both"  # blendshape names sent: both, arkit (Perfect Sync) or vrm (presets)
    render: RenderSettings = field(default_factory=RenderSettings)
    expressions: ExpressionSettings = field(default_factory=ExpressionSettings)
    idle: str = "on"  # on (the user's idle.toml, else the shipped one), off, or a .toml path
    idle_seed: int | None = None  # wins over the file's seed
    lip_sync: LipSyncSettings = field(default_factory=LipSyncSettings)
    smooth: str = SMOOTH_DEFAULT  # between two renders: interpolate, extrapolate or off (live/smooth_motion.py)

    def check(self) -> None:
        """Everything that can be said before anything slow starts; a UserError for the first mistake."""
        if self.fps <= 0 or self.fps > 240:
            raise UserError(f"--fps must be between 0 and 240, got {self.fps:g}")
        if self.max_frames is not None and self.max_frames < 1:
            raise UserError(f"--max-frames must be at least 1, got {self.max_frames}")
        if self.lost_after <= 0:
            raise UserError(f"--lost-after must be more than 0 seconds, got {self.lost_after:g}")
        if self.send_vmc is not None:
            from vtube_plugin.sources.vmc_send import check_target

            check_target(self.send_vmc, self.send_vmc_rate, self.send_vmc_names, self.source, self.source_options)
        if self.idle_seed is not None and self.idle_seed < 0:
            raise UserError(f"--idle-seed must be a whole number 0 or more, got {self.idle_seed}")
        self.lip_sync.check()
        check_mode(self.smooth)

    def idle_life(self):
        """The IdleLife layer these settings ask for, or None (--idle off, or `enabled = false` in the file)."""
        from dataclasses import replace

        from vtube_plugin.expressions.idle import IdleLife
        from vtube_plugin.expressions.idle_settings import load_idle_settings

        if self.idle == "off":
            return None
        settings = load_idle_settings(None if self.idle == "on" else self.idle)
        if self.idle_seed is not None:
            settings = replace(settings, seed=self.idle_seed)
        return IdleLife(settings) if settings.enabled else None


def say(line: str) -> None:
    """A console line of its own, above the status line (during run_live sys.stderr is its console writer)."""
    print(line, file=sys.stderr, flush=True)


def live_mapper(config: LiveConfig, profile, source):
    """The session's mapper: with no profile named, the source's names choose it; with no calibration stored for
    the source and profile, the first steady seconds set the neutral head (and are stored like `c`'s)."""
    from vtube_plugin.mapping.calibration import load_calibration, save_calibration
    from vtube_plugin.mapping.live_mapper import LiveMapper

    def stored(p):
        return load_calibration(config.source, p.name) if config.use_calibration else None

    def auto_saved(cal, p) -> None:
        try:
            where = f": saved to {save_calibration(cal, config.source, p.name)}"
        except UserError as err:  # a config folder we cannot write must not end the stream
            where = f" for this session only: {err}"
        say(f"neutral head taken from your first steady seconds{where} (c + Enter calibrates your whole face)")

    return LiveMapper(profile, stored(profile), hint=None if config.profile else source.profile_hint,
                      calibration_for=stored, calibrated=auto_saved, say=say,
                      auto_calibrate=config.use_calibration and source.TRACKS)


def run_live(config: LiveConfig, *, console: bool = True, status_stream: TextIO | None = None,
             console_writer: ConsoleWriter | None = None):
    """Stream until Ctrl+C, q, SIGTERM/SIGHUP, a closed window or max_frames; returns the LiveSummary.

    Everything printed to sys.stderr meanwhile, by any part, goes through one ConsoleWriter (the one given, or one
    on status_stream, stderr by default), so a console that does not read never holds up the stream."""
    if console_writer is not None:
        with console_writer.redirected():
            return _run_live(config, console, console_writer)
    with ConsoleWriter(status_stream) as writer, writer.redirected():
        return _run_live(config, console, writer)


def _run_live(config: LiveConfig, console: bool, writer: ConsoleWriter):
    from vtube_plugin.character import load_character_or_sample
    from vtube_plugin.expressions.control import typed_lines
    from vtube_plugin.expressions.lip_sync import LipSyncLayer
    from vtube_plugin.expressions.stack import LayerStack
    from vtube_plugin.live.console import ConsoleCommands
    from vtube_plugin.live.expression_inputs import start_expressions
    from vtube_plugin.live.loop import LiveLoop
    from vtube_plugin.live.signals import stop_on_signals
    from vtube_plugin.live.smooth_modes import describe
    from vtube_plugin.mapping.calibration import save_calibration
    from vtube_plugin.mapping.profile import load_profile
    from vtube_plugin.sinks.choose import make_sink, parse_output
    from vtube_plugin.sinks.compose import parse_background
    from vtube_plugin.sources import make_source, source_class

    config.check()
    profile = load_profile(config.profile or source_class(config.source).DEFAULT_PROFILE)
    source = make_source(config.source, config.source_options)  # its option mistakes are said before the slow load
    idle = config.idle_life()
    background = parse_background(config.background)
    for spec in config.outputs:
        parse_output(spec)
    renderer = config.render.load()
    renderer.set_character(load_character_or_sample(config.character, renderer.size))
    size = config.size or (renderer.size, renderer.size)
    sinks = [make_sink(spec, size=size, fps=config.fps, background=background,
                       pixel_format=config.pixel_format.upper(), device=config.virtualcam_device)
             for spec in config.outputs]

    mapper = live_mapper(config, profile, source)

    def saved(cal) -> str:
        return str(save_calibration(cal, config.source, mapper.profile.name))

    calibration = mapper.calibration

    # The layers over the tracking, bottom first: idle life fills in what the tracker does not drive, the voice
    # drives the mouth, and expression presets (OBS hotkeys, `vtube-plugin expression`, keys, names typed here)
    # go on top, so a preset's `keep = ["blink", "lip_sync"]` keeps idle blinks and the voice's mouth.
    lip_sync = LipSyncLayer(config.lip_sync) if config.lip_sync.enabled else None
    try:
        layer = start_expressions(config.expressions)
    except BaseException:
        if lip_sync is not None:
            lip_sync.close()
        raise
    layers = LayerStack([part for part in (idle, lip_sync, layer) if part is not None])

    try:
        loop = LiveLoop(
            source=source,
            mapper=mapper,
            renderer=renderer,
            sinks=sinks,
            fps=config.fps,
            lost_after=config.lost_after,
            expressions=layers,
            record_poses=config.record_poses,
            max_frames=config.max_frames,
            on_calibrated=saved,
            console=ConsoleCommands(other=typed_lines(layer)) if console else None,
            console_writer=writer,
            smooth=config.smooth,
        )
        if idle is not None:
            idle.follow(loop.tracked)  # what the tracker drives, and how much of the pose is tracked right now
        if lip_sync is not None:
            lip_sync.say = loop.status.message  # a microphone gone and back, said above the status line
        state = (" (calibrated)" if calibration
                 else " (the first steady seconds set your neutral head: look at the screen)" if mapper.auto_calibrating
                 else " (not calibrated: type c + Enter)")
        print(f"profile {profile.name}{state}; output {', '.join(config.outputs)} at {size[0]}x{size[1]}, "
              f"{config.fps:g} fps", file=sys.stderr)
        print(describe(config.smooth), file=sys.stderr)
        with ExitStack() as stack:
            if config.send_vmc is not None:
                from vtube_plugin.sources.vmc_send import VmcSender, parse_target

                host, port = parse_target(config.send_vmc)
                stack.enter_context(VmcSender(source.latest, host, port, config.send_vmc_rate, config.send_vmc_names))
                print(f"sending what is tracked over VMC to {host}:{port}, up to {config.send_vmc_rate:g} frames a "
                      "second", file=sys.stderr)
            stack.enter_context(stop_on_signals(loop.stop))  # SIGTERM, a closed terminal: stop as Ctrl+C does
            return loop.run()
    finally:
        layers.close()
