"""Real speech made on the machine for the lip sync tests: espeak-ng speaks (or sings a vowel from phoneme
input), sox pads it with silence and makes room noise and keyboard clicks; PyAV reads it back at 16 kHz.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from vtube_plugin.audio.voice import HOP, RATE

SENTENCE = "Hello everyone, welcome back to the stream. Today we are playing something fun."
# espeak-ng's phoneme input: [[aaaaaaaa]] at 60 words a minute is one long open /a/, and so on.
VOWEL_PHONEMES = {"aaa": "aaaaaaaa", "iii": "iiiiiiii", "uuu": "uuuuuuuu", "eee": "eeeeeeee", "ooo": "oooooooo"}


def need(*programs: str) -> None:
    missing = [p for p in programs if shutil.which(p) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed: tests/install-system-packages.sh installs it")


def run(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True, timeout=60)


def speak(path: Path, text: str, *, phonemes: bool = False, pad: tuple[float, float] = (1.0, 1.5),
          voice: str = "en") -> Path:
    """A 16 kHz mono WAV of espeak-ng saying `text` (or singing phonemes), silence before and after.
    `voice`: "en" (a man's voice) or e.g. "en+f3" (a woman's)."""
    need("espeak-ng", "sox")
    raw = path.with_suffix(".raw.wav")
    if phonemes:
        run("espeak-ng", "-v", voice, "-s", "60", "-w", str(raw), f"[[{text}]]")
    else:
        run("espeak-ng", "-v", voice, "-w", str(raw), text)
    run("sox", str(raw), "-r", str(RATE), "-c", "1", str(path), "pad", str(pad[0]), str(pad[1]))
    return path


def room_noise(path: Path, seconds: float = 4.0) -> Path:
    """Breathing-like noise (soft pink noise swelling in and out) with keyboard clicks (4 ms bursts) on top."""
    need("sox")
    noise, click, clicks = (path.with_name(f"{path.stem}-{n}.wav") for n in ("noise", "click", "clicks"))
    run("sox", "-n", "-r", str(RATE), "-c", "1", str(noise), "synth", str(seconds), "pinknoise", "vol", "0.06",
        "tremolo", "0.3", "90")
    run("sox", "-n", "-r", str(RATE), "-c", "1", str(click), "synth", "0.004", "whitenoise", "vol", "0.7",
        "pad", "0", "0.15")
    run("sox", *[str(click)] * int(seconds / 0.154), str(clicks))
    run("sox", "-m", "-v", "1", str(noise), "-v", "1", str(clicks), str(path), "trim", "0", str(seconds))
    return path


def read_sound(path: Path) -> np.ndarray:
    import av

    with av.open(str(path)) as container:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
        parts = [f.to_ndarray().reshape(-1) for frame in container.decode(audio=0) for f in resampler.resample(frame)]
    return np.concatenate(parts).astype(np.float32)


def audible_span(samples: np.ndarray, threshold_db: float = -40.0) -> tuple[float, float]:
    """Seconds from the first to the end of the last 10 ms hop louder than `threshold_db` dBFS."""
    hops = samples[: len(samples) // HOP * HOP].reshape(-1, HOP)
    loud = np.nonzero(20 * np.log10(np.sqrt((hops.astype(np.float64) ** 2).mean(axis=1)) + 1e-9) > threshold_db)[0]
    return loud[0] * HOP / RATE, (loud[-1] + 1) * HOP / RATE
