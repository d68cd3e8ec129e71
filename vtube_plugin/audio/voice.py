"""From sound to mouth: loudness behind a noise gate, voice activity (so breathing noise and keyboard clicks
do not open the mouth), attack/release smoothing and the vowel, one 10 ms hop at a time at 16 kHz.

`VoiceAnalyser.feed(samples)` takes any amount of sound; `mouth` (five values, mouth_aaa..ooo), `presence`
(0..1: how surely someone is talking) and `level_db` describe the newest hop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vtube_plugin.audio.vowels import formants, vowel_weights

RATE = 16000  # Hz: every input is brought to this rate (formants live below 4 kHz)
HOP = 160  # 10 ms: one analysis step
WINDOW = 480  # 30 ms looked at per step: room to compare 17 ms of it with itself one 80 Hz period later
PITCH = (80.0, 400.0)  # Hz: what counts as a voice's periodicity
ONSET_HOPS = 2  # voiced hops in a row before it counts as voice
LEARN_HOPS = 50  # the first half second learns the room's noise floor
# The buffering this adds: half the window is behind the newest sample, plus one hop of waiting.
ANALYSIS_DELAY = (WINDOW / 2 + HOP) / RATE


@dataclass(frozen=True)
class VoiceSettings:
    gain: float = 1.0  # > 1 opens the mouth wider for the same loudness
    open_only: bool = False  # only mouth_aaa opens (no vowel shapes)
    gate_db: float = -50.0  # dBFS: quieter than this is never voice
    above_noise_db: float = 12.0  # voice must be this much louder than the noise floor the analyser tracks
    voicing: float = 0.7  # 0..1: how periodic (voiced) 20 ms in a row must be to count as voice
    attack: float = 0.02  # seconds: the mouth opens with this time constant
    release: float = 0.03  # seconds: and closes with this one
    hangover: float = 0.08  # seconds after the last voiced hop that unvoiced sounds (s, t, k) still count
    formant_scale: float = 1.0  # 1.15-1.2 for a high voice: vowels' formants sit higher


class VoiceAnalyser:
    def __init__(self, settings: VoiceSettings = VoiceSettings()):
        self.s = settings
        self._buffer = np.zeros(WINDOW, dtype=np.float32)
        self._pending = np.zeros(0, dtype=np.float32)
        freqs = np.fft.rfftfreq(WINDOW, 1.0 / RATE)
        # Voicing is judged on 100-1500 Hz: a voice's harmonics are strong there, while the rumble of breath
        # noise (below) and the hiss of clicks (above) would look periodic or drown the harmonics.
        self._band = (freqs > 100.0) & (freqs < 1500.0)
        self._shortest, self._longest = int(RATE / PITCH[1]), int(RATE / PITCH[0])
        self.noise_db = -120.0
        self.level_db = -120.0
        self.peak_db = settings.gate_db + 24.0
        self.voiced = False
        self.active = False
        self._since_voiced = 1e9
        self._voiced_run = 0
        self.openness = 0.0
        self.presence = 0.0
        self.vowel = np.array([1.0, 0.0, 0.0, 0.0, 0.0])
        self.hops = 0

    @property
    def mouth(self) -> np.ndarray:
        """mouth_aaa, iii, uuu, eee, ooo for the newest hop."""
        if self.s.open_only:
            return np.array([self.openness, 0.0, 0.0, 0.0, 0.0])
        return self.openness * self.vowel

    def feed(self, samples: np.ndarray) -> None:
        """Mono float samples at RATE, any length; analyses every complete hop."""
        data = np.concatenate([self._pending, np.asarray(samples, dtype=np.float32).ravel()])
        usable = len(data) - len(data) % HOP
        for start in range(0, usable, HOP):
            self._buffer = np.concatenate([self._buffer[HOP:], data[start:start + HOP]])
            self._hop()
        self._pending = data[usable:]

    def _hop(self) -> None:
        s, dt = self.s, HOP / RATE
        frame = self._buffer.astype(np.float64)
        rms = float(np.sqrt(np.mean(frame * frame)))
        self.level_db = 20.0 * np.log10(max(rms, 1e-6))
        # The noise floor falls at once to anything quieter and creeps up slowly (3 dB/s), so a long
        # speech does not become the floor but a noisier room does, within seconds.
        # For the first half second the floor is the quietest hop heard (the room before anyone talks).
        creep = 3.0 * dt if self.hops >= LEARN_HOPS else 0.0
        self.noise_db = self.level_db if self.hops == 0 else min(self.level_db, self.noise_db + creep)
        self.hops += 1
        loud = self.level_db > max(s.gate_db, self.noise_db + s.above_noise_db)
        self.voiced = loud and self._periodicity(frame) >= s.voicing
        self._voiced_run = self._voiced_run + 1 if self.voiced else 0
        # Voice is periodic for 20 ms in a row: a click, or noise that looks periodic by chance, is not.
        self._since_voiced = 0.0 if self._voiced_run >= ONSET_HOPS else self._since_voiced + dt
        self.active = loud and self._since_voiced <= s.hangover
        if self.active:
            self.peak_db = max(self.level_db, self.peak_db - 2.0 * dt, s.gate_db + 18.0)
            floor = max(s.gate_db, self.noise_db + s.above_noise_db)
            target = min(1.0, s.gain * (self.level_db - floor) / max(self.peak_db - floor, 1.0))
        else:
            target = 0.0
        tau = s.attack if target > self.openness else s.release
        self.openness += (target - self.openness) * (1.0 - np.exp(-dt / max(tau, 1e-4)))
        # Presence hands the mouth between audio and tracking: quick in, a short breath out.
        step = dt / (0.05 if self.active else 0.2)
        self.presence = min(1.0, self.presence + step) if self.active else max(0.0, self.presence - step)
        if self.voiced and not s.open_only and self.hops % 2 == 0:  # every 20 ms: vowels change slower than that
            found = formants(frame, RATE)
            if found is not None:
                target_vowel = vowel_weights(*found, scale=s.formant_scale)
                self.vowel += (target_vowel - self.vowel) * (1.0 - np.exp(-2 * dt / 0.03))

    def _periodicity(self, frame: np.ndarray) -> float:
        """0..1: how well the voice band repeats itself one pitch period later (the normalised cross-correlation
        of the window's start with itself shifted, at the best period between PITCH's bounds)."""
        band = np.fft.irfft(np.fft.rfft(frame) * self._band, WINDOW)
        length = WINDOW - self._longest
        products = np.correlate(band, band[:length], "valid")  # shift 0 .. longest
        energy = np.concatenate([[0.0], np.cumsum(band * band)])
        shifted = energy[length:] - energy[: len(energy) - length]  # energy of each shifted segment
        scores = products / np.sqrt(shifted * shifted[0] + 1e-20)
        return float(np.max(scores[self._shortest:]))
