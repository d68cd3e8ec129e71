"""The lip sync layer: the voice (vtube_plugin/audio) drives mouth_aaa..ooo, mixed with the tracked mouth by
the mode (auto, audio, tracking, max; see audio/lip_sync.py MODES and docs/lip-sync.md).

A microphone that cannot be opened is said once, with the device list, and the stream goes on with the
tracked mouth: lip sync never stops a stream. One that goes away mid-stream is said once through `say` (the live
loop's status line), the mouth follows tracking meanwhile, and its return is said once (audio/capture.py).
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

import numpy as np

from vtube_plugin.audio.lip_sync import LipSyncSettings, Voice, buffering_seconds, open_input
from vtube_plugin.audio.vowels import VOWELS
from vtube_plugin.pose import BY_NAME, Pose

MOUTH = np.array([BY_NAME[f"mouth_{v}"].index for v in VOWELS])


class LipSyncLayer:
    def __init__(self, settings: LipSyncSettings, messages: TextIO | None = None):
        from vtube_plugin.audio.capture import AudioUnavailable

        self.settings = settings
        self.voice = Voice(settings.voice)
        self.input = None
        self.problem: str | None = None
        self._begun = False
        out = messages if messages is not None else sys.stderr
        self.say = lambda line: print(line, file=out, flush=True)  # run_live points it at the status line
        try:
            self.input = open_input(settings.input, self.voice, settings.loop, say=lambda line: self.say(line))
        except AudioUnavailable as exc:
            self.problem = str(exc).splitlines()[0]
            print(f"lip sync off: {exc}", file=out, flush=True)
        else:
            print(f"lip sync from {self.input.name}, mode {settings.mode}: sound -> pose buffering about "
                  f"{buffering_seconds(self.input.latency) * 1000:.0f} ms", file=out, flush=True)

    def apply(self, pose: Pose, now: float) -> Pose:
        if self.input is None:
            return pose
        if not self._begun:
            self._begun = True
            self.input.begin()
        if self.settings.mode == "tracking":
            return pose
        voice = self.voice.now()
        values = pose.as_array()
        tracked = values[MOUTH]
        if self.settings.mode == "audio":
            values[MOUTH] = voice.mouth
        elif self.settings.mode == "max":
            values[MOUTH] = np.maximum(tracked, voice.mouth)
        else:  # auto: the voice while someone talks, handing back to tracking in the pauses
            values[MOUTH] = tracked + (voice.mouth - tracked) * voice.presence
        return Pose(values)  # every mix stays inside 0..1: both sides are

    def status(self) -> str:
        """For the console status line: the voice level and whether it counts as talking."""
        if self.input is None:
            return "lip sync off (no microphone)"
        voice = self.voice.now()
        if self.voice.fed_at is not None and time.monotonic() - self.voice.fed_at > 1.0:  # unplugged?
            return f"voice: no sound from the {self.input.name} for {time.monotonic() - self.voice.fed_at:.0f} s"
        bar = "#" * int(round(min(max(voice.mouth.sum(), 0.0), 1.0) * 8))
        return f"voice {voice.level_db:4.0f} dB {bar:<8}" + (" talking" if voice.active else "")

    def close(self) -> None:
        if self.input is not None:
            self.input.close()
