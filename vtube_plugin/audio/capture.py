"""Where the voice comes from: a microphone (sounddevice / PortAudio) or a sound file played along in real
time (decoded by PyAV). Both hand mono float32 samples at 16 kHz to a callback, on their own thread.

A missing or busy microphone is an `AudioUnavailable` whose message lists the input devices.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from vtube_plugin.audio.voice import HOP, RATE

Samples = Callable[[np.ndarray], None]
GONE_AFTER = 1.0  # seconds without sound from an open microphone (PortAudio calls every 10 ms): it is gone
START_GRACE = 5.0  # seconds a just-opened microphone may take before its first sound (PulseAudio can take 2)
BACK_AFTER = 20  # blocks of sound (0.2 s) that make a reopened microphone count as back
RETRY_FIRST = 0.5  # seconds before the first try to open it again; doubled after each failed try
RETRY_MOST = 8.0


class AudioUnavailable(Exception):
    """The microphone cannot be used (none, busy, no PortAudio); the stream goes on without lip sync."""


def _sounddevice():
    try:
        import sounddevice
    except OSError as exc:  # the Python package is there but the PortAudio library is not
        raise AudioUnavailable(f"no PortAudio library ({exc}); install it (Debian/Ubuntu: sudo apt install "
                               "libportaudio2) to use a microphone") from None
    return sounddevice


def input_devices() -> list[tuple[int, str, int]]:
    """(index, name, channels) of every device that can record."""
    sd = _sounddevice()
    try:
        devices = sd.query_devices()
    except sd.PortAudioError as exc:
        raise AudioUnavailable(f"cannot list the audio devices: {exc}") from None
    return [(i, d["name"], int(d["max_input_channels"])) for i, d in enumerate(devices) if d["max_input_channels"] > 0]


def describe_devices() -> str:
    """The input devices as a user reads them, the default one marked."""
    try:
        devices = input_devices()
        default = _sounddevice().default.device[0]
    except AudioUnavailable as exc:
        return str(exc)
    if not devices:
        return "no audio input devices found (is a microphone plugged in and allowed for this program?)"
    lines = [f"  {'*' if i == default else ' '} {i}: {name} ({channels} ch)" for i, name, channels in devices]
    head = "audio input devices (* the default; choose one with --lip-sync mic:device=NAME or INDEX):"
    return "\n".join([head, *lines])


def find_device(spec: str | None) -> int | None:
    """The device index for `device=NAME|INDEX` (a name matches any part, ignoring case); None: the default."""
    if spec is None or spec == "":
        return None
    devices = input_devices()
    if spec.isdigit():
        if any(i == int(spec) for i, _, _ in devices):
            return int(spec)
        raise AudioUnavailable(f"there is no audio input device {spec}.\n{describe_devices()}")
    matches = [i for i, name, _ in devices if spec.lower() in name.lower()]
    if not matches:
        raise AudioUnavailable(f"no audio input device is called '{spec}'.\n{describe_devices()}")
    return matches[0]


class _Resampler:
    """Any rate and channel count to mono float32 at RATE (PyAV's swresample), block by block."""

    def __init__(self):
        import av

        self._av = av
        self._resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)

    def __call__(self, frame) -> np.ndarray:
        out = [f.to_ndarray().reshape(-1) for f in self._resampler.resample(frame)]
        return np.concatenate(out).astype(np.float32) if out else np.zeros(0, np.float32)

    def from_array(self, samples: np.ndarray, rate: int) -> np.ndarray:
        frame = self._av.AudioFrame.from_ndarray(np.ascontiguousarray(samples.reshape(1, -1), np.float32),
                                                 format="flt", layout="mono")
        frame.sample_rate = rate
        return self(frame)


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class MicInput:
    """The microphone: PortAudio calls back every 10 ms with the newest samples.

    A microphone that falls silent for GONE_AFTER (unplugged, a headset switched off: PortAudio stops calling)
    is said once, let go and opened again after `retry_after` seconds, then twice as long each time (RETRY_MOST at
    most); once sound flows again that is said once too. Meanwhile the voice is silent, so the mouth follows
    tracking (expressions/lip_sync.py)."""

    def __init__(self, device: str | None, on_samples: Samples, say: Callable[[str], None] = _say,
                 retry_after: float = RETRY_FIRST):
        self.device_spec, self.on_samples = device, on_samples
        self.say = say
        self.retry_after = retry_after
        self.name = "mic"
        self.latency = 0.0  # seconds PortAudio itself buffers (reported by the device)
        self.blocks = 0  # blocks of sound heard
        self.outages = 0  # times it went away
        self.reopens = 0  # tries to open it again
        self.away_since: float | None = None
        self._heard_at = 0.0
        self._stream = None
        self._stop = threading.Event()
        self._watch: threading.Thread | None = None

    def start(self) -> MicInput:
        self._open()
        self.name = f"mic ({self._device_name})"  # it is heard from now on: begin() has nothing to do
        self._watch = threading.Thread(target=self._watch_sound, name="mic-watch", daemon=True)
        self._watch.start()
        return self

    def _open(self) -> None:
        sd = _sounddevice()
        device = find_device(self.device_spec)
        try:
            info = sd.query_devices(device, "input")
            rate = RATE
            try:
                sd.check_input_settings(device=device, channels=1, samplerate=RATE, dtype="float32")
            except (sd.PortAudioError, ValueError):
                rate = int(info["default_samplerate"])  # the device insists on its own rate: resample
            resample = None if rate == RATE else _Resampler()

            def callback(indata, frames, when, status):  # PortAudio's thread: keep it short
                mono = indata[:, 0]
                self._heard_at = time.monotonic()
                self.blocks += 1
                self.on_samples(mono.copy() if resample is None else resample.from_array(mono, rate))

            self._stream = sd.InputStream(device=device, channels=1, samplerate=rate, dtype="float32",
                                          blocksize=int(rate * HOP / RATE), latency="low", callback=callback)
            self._stream.start()
        except (sd.PortAudioError, ValueError) as exc:
            self._close_stream()
            raise AudioUnavailable(f"cannot open the microphone ({exc}); it may be in use by another program "
                                   f"or unplugged.\n{describe_devices()}") from None
        self._device_name = info["name"]
        self.latency = float(self._stream.latency)

    def _watch_sound(self) -> None:
        """On its own thread: notice the microphone going silent, and bring it back."""
        opened_at, blocks_then, wait, next_try = time.monotonic(), self.blocks, self.retry_after, 0.0
        while not self._stop.wait(0.05):
            now = time.monotonic()
            if self._stream is None:  # away: try again when the pause is over
                if now < next_try:
                    continue
                self.reopens += 1
                try:
                    self._open()
                except AudioUnavailable:
                    wait, next_try = min(wait * 2, RETRY_MOST), now + wait
                    continue
                opened_at, blocks_then = time.monotonic(), self.blocks
                continue
            heard = self.blocks - blocks_then  # since this stream opened
            if self.away_since is not None:  # reopened: back once sound flows, else let go and wait longer
                if heard >= BACK_AFTER:
                    self.say(f"lip sync: the {self.name} is back after {now - self.away_since:.0f} s; the voice has "
                             "the mouth again")
                    self.away_since, wait = None, self.retry_after
                elif now - opened_at > START_GRACE:
                    self._close_stream()
                    wait, next_try = min(wait * 2, RETRY_MOST), now + wait
                continue
            # A stream just opened may take a few seconds to deliver its first sound (PulseAudio does).
            silent_for = now - (self._heard_at if heard else opened_at)
            if silent_for > (GONE_AFTER if heard else START_GRACE):
                self.away_since = now - silent_for
                self.outages += 1
                self.say(f"lip sync: no sound from the {self.name} for {silent_for:.0f} s (unplugged, or switched "
                         f"off?); the mouth follows tracking until it is back (trying again after {wait:g} s, then "
                         f"less often, every {RETRY_MOST:g} s at most)")
                self._close_stream()
                next_try = now + wait

    def begin(self) -> None:
        pass

    def _close_stream(self) -> None:
        if self._stream is not None:
            stream, self._stream = self._stream, None
            try:
                stream.abort()
                stream.close()
            except Exception:  # noqa: BLE001 - a device that is gone may fail to close; it is let go either way
                pass

    def close(self) -> None:
        self._stop.set()
        if self._watch is not None:
            self._watch.join(timeout=10)
            self._watch = None
        self._close_stream()


class FileInput:
    """A WAV/MP3/OGG (anything FFmpeg reads) fed at the pace it would be heard, as if it came from a microphone;
    after its end, silence, or with `loop` the file again from its start. It is analysed, not played out loud."""

    def __init__(self, path: str | Path, on_samples: Samples, loop: bool = False):
        self.path, self.on_samples, self.loop = Path(path), on_samples, loop
        self.name = f"file {self.path.name}"
        self.latency = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._begun = threading.Event()
        self.finished = threading.Event()

    def start(self) -> FileInput:
        import av

        try:
            container = av.open(str(self.path))
            if not container.streams.audio:
                container.close()
                raise AudioUnavailable(f"{self.path} has no sound in it")
        except (OSError, av.FFmpegError) as exc:  # av's errors for unreadable or non-media files
            raise AudioUnavailable(f"cannot read the sound file {self.path}: {exc}") from None
        self._thread = threading.Thread(target=self._play, args=(container,), name="lip-sync-file", daemon=True)
        self._thread.start()
        return self

    def begin(self) -> None:
        """Start hearing the file (at the first rendered frame, so a slow model load does not eat its start)."""
        self._begun.set()

    def _play(self, container) -> None:
        resample = _Resampler()
        while not self._begun.wait(0.05):
            if self._stop.is_set():
                container.close()
                return
        import av

        start, fed = time.monotonic(), 0
        try:
            while True:
                before = fed
                for samples in (resample(f) for f in container.decode(audio=0)):
                    for at in range(0, len(samples), HOP):
                        piece = samples[at:at + HOP]
                        wait = start + (fed + len(piece)) / RATE - time.monotonic()
                        if self._stop.wait(max(wait, 0.0)):
                            return
                        self.on_samples(piece)
                        fed += len(piece)
                if not self.loop or fed == before:
                    break
                container.close()
                container = av.open(str(self.path))
        except Exception:  # noqa: BLE001 - a broken file ends the voice, never the stream
            pass
        finally:
            container.close()
            self.finished.set()
        while not self._stop.wait(HOP / RATE):  # silence after the end, so the mouth closes
            self.on_samples(np.zeros(HOP, np.float32))

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
