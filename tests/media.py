"""Small media files made in tests: a sine tone as WAV."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np


def write_tone(path: Path, seconds: float, rate: int = 22_050, amplitude: int = 12_000) -> Path:
    """A mono 16-bit 440 Hz WAV of `seconds`."""
    t = np.arange(int(seconds * rate)) / rate
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((np.sin(2 * np.pi * 440 * t) * amplitude).astype(np.int16).tobytes())
    return path
