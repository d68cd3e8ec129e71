"""A live session that changes while it streams: `LiveSession` assembles the pipeline from a LiveConfig and is the
Session behind live/commands.py (one method per command, each applied between two frames); `run_live` streams
on the calling thread (`vtube-plugin run`), `start_session` on a thread of its own (`vtube-plugin studio`).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TextIO

from vtube_plugin.errors import UserError
from vtube_plugin.live.console_writer import ConsoleWriter
from vtube_plugin.live.dispatch import SessionCommands
from vtube_plugin.live.saved_settings import SavedSettings, load_saved_settings
from vtube_plugin.live.session import LiveConfig, live_mapper, say
from vtube_plugin.live.session_state import session_state

STATUS_EVERY = 0.5  # seconds between "status" events


def default_recording_folder() -> Path:
    """The user's Videos folder where there is one, else their home folder."""
    try:
        import platformdirs

        videos = Path(platformdirs.user_videos_dir())
        if videos.is_dir():
            return videos
    except Exception:  # noqa: BLE001 - any platform quirk: the home folder will do
        pass
    return Path.home()


class LiveSession:
    """Everything a live session runs, built (the slow model load included) by the constructor; `run()` streams
    until stopped. `commands` is its command interface; `sinks` outputs of the caller's. Its status line and
    messages go out through `console_writer` (run_live's), or a writer of the loop's own on `status_stream`."""

    def __init__(self, config: LiveConfig, *, sinks: Sequence = (), console: bool = True,
                 status_stream: TextIO | None = None, console_writer: ConsoleWriter | None = None,
                 saved: SavedSettings | None = None):
        from vtube_plugin.character import load_character_or_sample
        from vtube_plugin.expressions.draft import DraftLayer
        from vtube_plugin.expressions.layer import ExpressionLayer, load_presets
        from vtube_plugin.expressions.lip_sync import LipSyncLayer
        from vtube_plugin.expressions.stack import LayerStack
        from vtube_plugin.live.console import ConsoleCommands
        from vtube_plugin.live.expression_inputs import start_inputs
        from vtube_plugin.live.loop import LiveLoop
        from vtube_plugin.mapping.profile import load_profile
        from vtube_plugin.sinks.choose import parse_output
        from vtube_plugin.sinks.compose import parse_background
        from vtube_plugin.sinks.virtualcam import VirtualCameraSink
        from vtube_plugin.sources import source_class

        config.check()
        self.config = config = replace(config)  # commands change this copy: the settings in use now
        self.saved = saved
        self.commands = SessionCommands(self, on_applied=saved.remember if saved is not None else None)
        self.recording_folder = Path(saved.recording_folder if saved and saved.recording_folder
                                     else default_recording_folder())
        self._vmc_target = saved.vmc_target if saved is not None else None
        profile = load_profile(config.profile or source_class(config.source).DEFAULT_PROFILE)
        source = self._make_source(config.source, config.source_options)  # mistakes said before the slow load
        idle = config.idle_life()
        self.background = parse_background(config.background)
        for spec in config.outputs:
            parse_output(spec)
        if not config.outputs and not sinks:
            raise UserError("a live session needs at least one output")
        self.renderer = config.render.load()
        self.renderer.set_character(load_character_or_sample(config.character, self.renderer.size))
        self.size = config.size or (self.renderer.size, self.renderer.size)
        outputs = [self._make_output(spec) for spec in config.outputs] + list(sinks)
        self.virtualcam = next((s for s in outputs if isinstance(s, VirtualCameraSink)), None)
        self.recording: tuple = ()  # (FileSink, started at) while recording
        self.vmc_sender = None

        # The layers over the tracking, bottom first: idle life fills in what the tracker does not drive, the
        # voice drives the mouth, and expression presets go on top, so a preset's `keep = ["blink", "lip_sync"]`
        # keeps idle blinks and the voice's mouth. A preset being made from the studio's sliders is on top of all.
        self.idle = idle
        self.draft = DraftLayer()
        self.lip_sync = LipSyncLayer(config.lip_sync) if config.lip_sync.enabled else None
        self.layers = LayerStack([])
        try:
            self.expressions = ExpressionLayer(load_presets(config.expressions.presets))
            self._restack()
            start_inputs(self.expressions, config.expressions, self.commands)  # control channel, keys, OBS
            self.loop = LiveLoop(
                source=source, mapper=live_mapper(config, profile, source), renderer=self.renderer,
                sinks=outputs, fps=config.fps, lost_after=config.lost_after, expressions=self.layers,
                record_poses=config.record_poses, max_frames=config.max_frames, on_calibrated=self._calibrated,
                console=ConsoleCommands(commands=self.commands) if console else None, status_stream=status_stream,
                console_writer=console_writer, smooth=config.smooth)
        except BaseException:
            if self.layers.layers:
                self.layers.close()
            elif self.lip_sync is not None:
                self.lip_sync.close()
            raise
        if idle is not None:
            idle.follow(self.loop.tracked)  # what the tracker drives, and how much of the pose is tracked now
        if self.lip_sync is not None:
            self.lip_sync.say = self.loop.status.message  # a microphone gone and back, said above the status line
        self.loop.on_tick = self._tick
        self.loop.status.on_message = self._message
        self.expressions.add_listener(lambda name, on: self.commands.changed("expressions"))
        self._status_at = 0.0
        self._seen: dict = {}

    # --- building blocks ----------------------------------------------------------------------
    def _make_source(self, name: str, options: dict):
        from vtube_plugin.sources import make_source

        source = make_source(name, options)
        if hasattr(source, "say"):  # what a source says mid-stream (the first sender heard, a camera gone and
            source.say = self.say  # back) goes above the status line, and to the page
        return source

    def _make_output(self, spec: str):
        from vtube_plugin.sinks.choose import make_sink

        c = self.config
        return make_sink(spec, size=self.size, fps=c.fps, background=self.background,
                         pixel_format=c.pixel_format.upper(), device=c.virtualcam_device,
                         backend=c.virtualcam_backend)

    def _restack(self) -> None:
        self.layers.layers = [p for p in (self.idle, self.lip_sync, self.expressions, self.draft) if p is not None]

    def say(self, line: str) -> None:
        """A message above the status line, and a "message" event (the status line publishes its messages)."""
        loop = getattr(self, "loop", None)
        if loop is None:  # still being built
            say(line)
            self.commands.publish("message", {"text": line})
        else:
            loop.status.message(line)

    def _message(self, line: str) -> None:
        self.commands.publish("message", {"text": line})

    def _calibrated(self, calibration) -> str:
        from vtube_plugin.mapping.calibration import save_calibration

        return str(save_calibration(calibration, self.config.source, self.loop.mapper.profile.name))

    def _streaming(self) -> bool:
        return self.loop.started.is_set() and not self.loop.finished.is_set()

    def _not_stopped(self) -> None:
        if self.loop.finished.is_set():
            raise UserError("the live session has stopped")

    # --- running ------------------------------------------------------------------------------
    def run(self):
        """Stream until Ctrl+C, q, the stop command, SIGTERM/SIGHUP, a closed window or max_frames."""
        from vtube_plugin.live.signals import stop_on_signals
        from vtube_plugin.live.smooth_modes import describe

        mapper, c = self.loop.mapper, self.config
        state = (" (calibrated)" if mapper.calibration
                 else " (the first steady seconds set your neutral head: look at the screen)" if mapper.auto_calibrating
                 else " (not calibrated: type c + Enter)")
        names = ", ".join(getattr(s, "name", type(s).__name__) for s in self.loop.sinks)
        print(f"profile {mapper.profile.name}{state}; output {names} at {self.size[0]}x{self.size[1]}, {c.fps:g} fps",
              file=sys.stderr)
        print(describe(c.smooth), file=sys.stderr)
        reason = "error"
        try:
            with ExitStack() as stack:
                if c.send_vmc is not None:
                    self._start_vmc(c.send_vmc)
                stack.enter_context(stop_on_signals(self.loop.stop))  # SIGTERM, a closed terminal: as Ctrl+C
                summary = self.loop.run()
                reason = summary.stopped_by
                return summary
        finally:
            self._stop_vmc()
            try:
                self.layers.close()
            finally:
                self.commands.publish("stopped", {"reason": reason})

    def _tick(self, now: float) -> None:
        """On the loop's thread after each output frame: the status event, and events for what changed."""
        if now - self._status_at < STATUS_EVERY:
            return
        self._status_at = now
        state = self.state()
        self.commands.publish("status", {k: state[k] for k in ("render", "source", "lip_sync", "recording", "faults")})
        if self._seen.get("calibrating", False) != state["calibrating"]:  # a calibration began or ended
            self._seen["calibrating"] = state["calibrating"]
            self.commands.publish("calibrating", state["calibrating"])
        tracker = state["source"]["state"]
        if self._seen.get("tracker") != tracker:
            self._seen["tracker"] = tracker
            self.commands.publish("source", state["source"])

    # --- the commands (live/commands.py checked their payloads) ---------------------------------
    def set_expression(self, name: str, action: str = "trigger") -> None:
        from vtube_plugin.expressions.commands import set_expression

        set_expression(self.expressions, name, action)

    def clear_expressions(self) -> None:
        self.expressions.release_all()

    def _presets_files(self) -> tuple[Path, Path]:
        """(the presets file in use, the one a new preset is saved into): --expressions FILE is both; else the
        user's expressions.toml in the config folder (made from the shipped one when they have none)."""
        from vtube_plugin.config_dir import config_dir
        from vtube_plugin.profile_files import PRESETS_FILE, default_presets_path

        if self.config.expressions.presets:
            named = Path(self.config.expressions.presets).expanduser()
            return named, named
        return default_presets_path(), config_dir() / PRESETS_FILE

    def set_draft(self, pose: dict) -> None:
        self.draft.set(pose, self._presets_files()[0])  # checked first: a wrong name or value changes nothing

    def save_preset(self, name: str, key: str | None = None) -> None:
        from vtube_plugin.expressions.draft import save_preset
        from vtube_plugin.profile_files import shipped_presets_path

        if not self.draft.pose:
            raise UserError("move a slider first: the new preset is what the sliders show over your face")
        if name in self.expressions.presets:
            raise UserError(f"there is an expression named '{name}' already; pick another name")
        _, target = self._presets_files()
        presets = save_preset(target, shipped_presets_path(), name, self.draft.pose, key)
        self.expressions.add_preset(presets[name])
        self.draft.set({}, target)
        self.say(f"saved the preset '{name}' to {target}" + (f"; its hotkey {key} works from the next start"
                                                             if key else ""))

    def calibrate(self) -> None:
        self._not_stopped()
        if not self.loop.source.TRACKS:
            raise UserError(f"the {self.config.source} source never tracks: there is no face to calibrate")
        with self.loop.between_frames():
            self.loop.calibrate()

    def reset_calibration(self) -> None:
        with self.loop.between_frames():
            self.loop.forget_calibration()

    def stop(self, reason: str = "stop command") -> None:
        self.loop.stop(reason)

    def set_source(self, source: str, options: dict | None = None) -> None:
        from vtube_plugin.mapping.profile import load_profile
        from vtube_plugin.sources import check_options, source_class

        self._not_stopped()
        cls = source_class(source)
        options = check_options(source, options or {})
        new = self._make_source(source, options)
        profile = load_profile(self.config.profile or cls.DEFAULT_PROFILE)
        config = replace(self.config, source=source, source_options=options)
        if self.config.send_vmc is not None:
            from vtube_plugin.sources.vmc_send import check_target

            c = self.config
            check_target(c.send_vmc, c.send_vmc_rate, c.send_vmc_names, source, options)
        old = self.loop.source
        if self._streaming():
            old.__exit__(None, None, None)  # first: the new one may listen on the same port
            try:
                new.__enter__()
            except BaseException:
                old.__enter__()  # the stream goes on as it was
                raise
        self.loop.switch_source(new, live_mapper(config, profile, new))
        self.config = config
        self.say(f"tracking from {source}" + (f" ({cls.waiting_hint(options)})" if cls.TRACKS else ""))

    def set_mirror(self, on: bool) -> None:
        if self.config.source != "webcam":
            raise UserError(f"mirror is for the webcam; the source now is {self.config.source}")
        self.set_source("webcam", {**self.config.source_options, "mirror": on})

    def set_profile(self, profile: str) -> None:
        from vtube_plugin.mapping.profile import load_profile
        from vtube_plugin.sources import source_class

        self._not_stopped()
        named = None if profile == "auto" else profile
        loaded = load_profile(named or source_class(self.config.source).DEFAULT_PROFILE)
        config = replace(self.config, profile=named)
        source = self.loop.source
        self.loop.switch_source(source, live_mapper(config, loaded, source))
        self.config = config

    def set_idle(self, on: bool) -> None:
        idle = None
        if on:
            spec = self.config.idle if self.config.idle not in ("on", "off") else "on"
            idle = replace(self.config, idle=spec).idle_life()
            if idle is None:
                raise UserError("idle life is switched off in your idle.toml (enabled = false)")
            idle.follow(self.loop.tracked)
        with self.loop.between_frames():
            self.idle = idle
            self._restack()
        if on:
            self.config.idle = spec
        elif self.config.idle == "on":
            self.config.idle = "off"

    def set_lip_sync(self, mode: str, device: str | None = None) -> None:
        from vtube_plugin.expressions.lip_sync import LipSyncLayer

        layer = None
        if mode == "mic":
            settings = replace(self.config.lip_sync, input="mic" if not device else f"mic:device={device}")
            settings.check()
            layer = LipSyncLayer(settings)
            if layer.problem is not None:
                layer.close()
                raise UserError(f"lip sync: {layer.problem}")
            layer.say = self.loop.status.message  # a microphone gone and back, said above the status line
        with self.loop.between_frames():
            old, self.lip_sync = self.lip_sync, layer
            self._restack()
        if old is not None:
            old.close()
        self.config.lip_sync = layer.settings if layer is not None else replace(self.config.lip_sync, input="off")

    def set_character(self, path: str) -> None:
        import io

        from vtube_plugin.character import load_character, warn_about_framing

        rgba = load_character(path, self.renderer.size)  # the picture's problem is said; nothing changes then
        with self.loop.between_frames():
            self.renderer.set_character(rgba)
        self.config.character = path
        warnings = io.StringIO()  # framed badly: it works, only worse; said as `run` says it, and to the page
        warn_about_framing(rgba, Path(path).name, warnings)
        for line in warnings.getvalue().splitlines():
            self.say(line)

    def start_recording(self, folder: str | None = None) -> None:
        from vtube_plugin.sinks.file import FileSink

        self._not_stopped()
        if self.recording:
            raise UserError(f"already recording to {self.recording[0].path}; stop that first")
        where = Path(folder).expanduser() if folder else self.recording_folder
        if not where.is_dir():
            raise UserError(f"cannot record into {where}: there is no such folder")
        stamp = datetime.now().strftime("%Y-%m-%d %H-%M-%S")
        path, n = where / f"vtube-plugin {stamp}.mp4", 2
        while path.exists():
            path, n = where / f"vtube-plugin {stamp} ({n}).mp4", n + 1
        sink = FileSink(path, self.size, self.config.fps, background=self.background)
        self.loop.on_loop(lambda: self.loop.add_output(sink))
        self.recording = (sink, time.monotonic())
        self.recording_folder = where
        self.say(f"recording to {path}")

    def stop_recording(self) -> None:
        if not self.recording:
            raise UserError("nothing is being recorded")
        sink = self.recording[0]
        if not self.loop.finished.is_set():  # else the stop has finished the file already
            self.loop.on_loop(lambda: self.loop.remove_output(sink), timeout=60.0)
        self.recording = ()
        self.say(f"recorded {sink.path}")

    def set_output(self, output: str, on: bool, target: str | None = None) -> None:
        self._not_stopped()
        if output == "virtualcam":
            if on and self.virtualcam is None:
                camera = self._make_output("virtualcam")
                self.loop.on_loop(lambda: self.loop.add_output(camera))
                self.virtualcam = camera
            elif not on and self.virtualcam is not None:
                camera = self.virtualcam
                self.loop.on_loop(lambda: self.loop.remove_output(camera))
                self.virtualcam = None
            return
        if on:
            target = target or self._vmc_target
            if not target:
                raise UserError("VMC out needs a target, HOST:PORT of the other app (e.g. 127.0.0.1:39539)")
            self._stop_vmc()
            self._start_vmc(target)
        else:
            self._stop_vmc()
            self.config.send_vmc = None

    def _start_vmc(self, target: str) -> None:
        from vtube_plugin.sources.vmc_send import VmcSender, check_target, parse_target

        c = self.config
        check_target(target, c.send_vmc_rate, c.send_vmc_names, c.source, c.source_options)
        host, port = parse_target(target)
        self.vmc_sender = VmcSender(lambda: self.loop.source.latest(), host, port, c.send_vmc_rate,
                                    c.send_vmc_names).start()
        self.config.send_vmc = self._vmc_target = target
        print(f"sending what is tracked over VMC to {host}:{port}, up to {c.send_vmc_rate:g} frames a second",
              file=sys.stderr)

    def _stop_vmc(self) -> None:
        if self.vmc_sender is not None:
            self.vmc_sender.stop()
            self.vmc_sender = None

    # --- the state ----------------------------------------------------------------------------
    def state(self) -> dict:
        return session_state(self)


def run_live(config: LiveConfig, *, console: bool = True, status_stream: TextIO | None = None,
             console_writer: ConsoleWriter | None = None, saved: SavedSettings | None = None):
    """Stream until Ctrl+C, q, SIGTERM/SIGHUP, a closed window or max_frames; returns the LiveSummary.

    Everything printed to sys.stderr meanwhile, by any part, goes through one ConsoleWriter (the one given, or one
    on status_stream, stderr by default), so a console that does not read never holds up the stream."""
    if console_writer is not None:
        with console_writer.redirected():
            return LiveSession(config, console=console, console_writer=console_writer, saved=saved).run()
    with ConsoleWriter(status_stream) as writer, writer.redirected():
        return LiveSession(config, console=console, console_writer=writer, saved=saved).run()


def start_session(settings: SavedSettings | None = None, *, sinks: Sequence = (),
                  status_stream: TextIO | None = None, base: LiveConfig | None = None,
                  console_writer: ConsoleWriter | None = None) -> tuple[SessionCommands, Callable[[], object]]:
    """A session from the saved settings, streaming on a thread of its own: (commands, stop). `stop()` ends it
    and returns the LiveSummary (or raises what ended it). See live/commands.py's docstring. The status line
    goes to `console_writer` (the studio's, which also carries sys.stderr), else to a writer on status_stream."""
    saved = settings if settings is not None else load_saved_settings()
    config = saved.apply_to(base if base is not None else LiveConfig(outputs=()))
    session = LiveSession(config, sinks=sinks, console=False, status_stream=status_stream,
                          console_writer=console_writer, saved=saved)
    outcome: dict = {}

    def stream() -> None:
        try:
            outcome["summary"] = session.run()
        except BaseException as error:  # noqa: BLE001 - handed to stop() or to start_session below
            outcome["error"] = error

    thread = threading.Thread(target=stream, name="live-session", daemon=True)
    thread.start()
    while not session.loop.started.wait(0.05):
        if not thread.is_alive():
            raise outcome.get("error") or UserError("the live session ended before it started")

    def stop():
        session.loop.stop("stopped")
        thread.join()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["summary"]

    return session.commands, stop
