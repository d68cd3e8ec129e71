"""Which vowel a voiced stretch of sound is: the first two formants (resonances of the mouth) found by linear
prediction (LPC), compared with where /a/ /i/ /u/ /e/ /o/ sit, as soft weights for mouth_aaa..mouth_ooo.
"""

from __future__ import annotations

import numpy as np

VOWELS = ("aaa", "iii", "uuu", "eee", "ooo")  # the pose's mouth_* names, in this order everywhere
# (F1, F2) in Hz of each vowel for an adult voice; a higher voice scales all of them (formant_scale).
# Between Japanese (the mouth shapes THA was drawn with) and English vowel charts.
FORMANTS = {"aaa": (780.0, 1250.0), "iii": (320.0, 2200.0), "uuu": (340.0, 1000.0),
            "eee": (500.0, 1850.0), "ooo": (550.0, 880.0)}
# How far (in octaves of F1 and F2) a sound may be from a vowel and still count mostly as it.
SPREAD = 0.3


def lpc(frame: np.ndarray, order: int) -> np.ndarray:
    """Prediction coefficients a[0..order] (a[0] = 1) of a windowed frame, by Levinson-Durbin."""
    n = len(frame)
    spectrum = np.fft.rfft(frame, 2 * n)
    r = np.fft.irfft(spectrum * np.conj(spectrum))[: order + 1].real
    r[0] *= 1.0 + 1e-9  # a touch of white noise: keeps the recursion stable on digital silence
    a = np.zeros(order + 1)
    a[0], error = 1.0, r[0]
    for i in range(1, order + 1):
        if error <= 0.0:
            break
        k = -(r[i] + np.dot(a[1:i], r[i - 1:0:-1])) / error
        a[1:i] = a[1:i] + k * a[i - 1:0:-1]
        a[i] = k
        error *= 1.0 - k * k
    return a


def formants(frame: np.ndarray, rate: int) -> tuple[float, float] | None:
    """(F1, F2) in Hz of one frame of voiced sound, or None when no two clear resonances are found."""
    emphasised = np.append(frame[0], frame[1:] - 0.97 * frame[:-1]) * np.hamming(len(frame))
    roots = np.roots(lpc(emphasised, 2 + rate // 1000))
    roots = roots[np.imag(roots) > 0]
    freqs = np.angle(roots) * rate / (2 * np.pi)
    bandwidths = -np.log(np.abs(roots)) * rate / np.pi
    peaks = sorted(f for f, b in zip(freqs, bandwidths) if 180.0 < f < 3500.0 and b < 500.0)
    f1 = next((f for f in peaks if f < 1100.0), None)
    if f1 is None:
        return None
    f2 = next((f for f in peaks if f > f1 + 150.0), None)
    return None if f2 is None else (f1, f2)


def vowel_weights(f1: float, f2: float, scale: float = 1.0) -> np.ndarray:
    """Five weights (VOWELS order) summing to 1: near a vowel's formants, mostly that vowel."""
    distances = np.array([
        (np.log2(f1 / (v1 * scale)) ** 2 + np.log2(f2 / (v2 * scale)) ** 2) for v1, v2 in FORMANTS.values()])
    weights = np.exp(-distances / (2 * SPREAD * SPREAD))
    weights /= max(weights.sum(), 1e-12)
    # Far from every vowel (a consonant, a bad estimate) the weights are flat: lean on the open /a/.
    if distances.min() > 4 * SPREAD * SPREAD:
        weights = np.array([0.6, 0.1, 0.1, 0.1, 0.1])
    return weights
