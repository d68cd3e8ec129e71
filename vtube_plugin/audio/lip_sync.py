"""Lip sync settings (`--lip-sync mic`, `mic:device=NAME|INDEX`, `file:PATH`, the mixing mode) and the voice
that the capture thread feeds and the render thread reads: `Voice.now()` is a consistent snapshot.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vtube_plugin.audio.voice import ANALYSIS_DELAY, VoiceAnalyser, VoiceSettings
from vtube_plugin.errors import UserError

# auto: the voice drives the mouth while someone talks, tracking in between; audio: the voice only;
# tracking: the tracker only (the level is still shown); max: whichever opens the mouth more.
MODES = ("auto", "audio", "tracking", "max")
INPUT_HELP = "off (default), mic (the default microphone), mic:device=NAME|INDEX, file:PATH (WAV/MP3/OGG), or list"


def parse_input(spec: str) -> tuple[str, str | None]:
    """`off` -> ("off", None); `mic` / `mic:device=X` -> ("mic", X or None); `file:PATH` -> ("file", PATH)."""
    text = spec.strip()
    kind, _, rest = text.partition(":")
    kind = kind.lower()
    if kind in ("off", "list") and not rest:
        return kind, None
    if kind == "mic":
        if not rest:
            return "mic", None
        key, eq, value = rest.partition("=")
        if key.strip() != "device" or not eq or not value.strip():
            raise UserError(f"--lip-sync {spec}: after mic: give device=NAME or device=INDEX "
                            "(see the list: --lip-sync list)")
        return "mic", value.strip()
    if kind == "file" and rest:
        return "file", rest
    raise UserError(f"--lip-sync {spec!r} is not one of: {INPUT_HELP}")


@dataclass(frozen=True)
class LipSyncSettings:
    input: str = "off"
    mode: str = "auto"
    loop: bool = False  # file: play it again and again (a long test), not once then silence
    voice: VoiceSettings = field(default_factory=VoiceSettings)

    @property
    def enabled(self) -> bool:
        return parse_input(self.input)[0] not in ("off", "list")

    def check(self) -> None:
        kind, arg = parse_input(self.input)
        if self.mode not in MODES:
            raise UserError(f"--lip-sync-mode {self.mode!r} is not one of {', '.join(MODES)}")
        if not 0.0 < self.voice.gain <= 10.0:
            raise UserError(f"--lip-sync-gain must be more than 0 and at most 10, got {self.voice.gain:g}")
        if kind == "file" and not Path(arg).expanduser().is_file():
            raise UserError(f"--lip-sync file:{arg}: no such sound file")
        if self.loop and kind != "file":
            raise UserError("--lip-sync-loop plays a sound file again and again: use it with --lip-sync file:PATH")


@dataclass(frozen=True)
class VoiceNow:
    mouth: np.ndarray  # mouth_aaa, iii, uuu, eee, ooo
    presence: float  # 0..1: how surely someone is talking (eased)
    level_db: float
    active: bool


SILENT = VoiceNow(np.zeros(5), 0.0, -120.0, False)
STALE_AFTER = 0.25  # seconds without sound from the device: it stopped (unplugged), so the mouth closes


class Voice:
    """The analyser behind a lock: the capture thread calls `feed`, the render thread `now()`."""

    def __init__(self, settings: VoiceSettings, clock=time.monotonic):
        self._analyser = VoiceAnalyser(settings)
        self._lock = threading.Lock()
        self._now = SILENT
        self._clock = clock
        self.fed_at: float | None = None

    def feed(self, samples: np.ndarray) -> None:
        with self._lock:
            a = self._analyser
            a.feed(samples)
            self._now = VoiceNow(a.mouth.copy(), a.presence, a.level_db, a.active)
            self.fed_at = self._clock()

    def now(self) -> VoiceNow:
        """The newest analysis; silence when the device has sent nothing for STALE_AFTER (a frozen open
        mouth would be worse than a closed one)."""
        with self._lock:
            if self.fed_at is None or self._clock() - self.fed_at > STALE_AFTER:
                return SILENT
            return self._now


def open_input(spec: str, voice: Voice, loop: bool = False, say=None):
    """The started capture for `spec` (MicInput or FileInput, played again and again with `loop`), or
    AudioUnavailable. `say(line)`: what the microphone says mid-stream (gone, back)."""
    from vtube_plugin.audio.capture import FileInput, MicInput

    kind, arg = parse_input(spec)
    if kind == "file":
        return FileInput(Path(arg).expanduser(), voice.feed, loop).start()
    return (MicInput(arg, voice.feed) if say is None else MicInput(arg, voice.feed, say=say)).start()


def buffering_seconds(device_latency: float) -> float:
    """Sound -> pose: what the device buffers plus the analysis window's delay."""
    return device_latency + ANALYSIS_DELAY
