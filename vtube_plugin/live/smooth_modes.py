"""What `--smooth` can be and the one line `run` says about it at start-up (no heavy imports: the command line
reads it; the work is in live/smooth_motion.py)."""

from __future__ import annotations

from vtube_plugin.errors import UserError

MODES = ("interpolate", "extrapolate", "off")
# What `run` does unless told: measured best for a streamer on a 2-core CPU (docs/performance.md).
DEFAULT = "extrapolate"


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise UserError(f"--smooth must be one of {', '.join(MODES)}, got '{mode}'")
    return mode


def describe(mode: str) -> str:
    """The one start-up line saying what --smooth does in this session."""
    return {
        "interpolate": "smooth motion: interpolate (while renders are slower than the output, the frames between "
                       "the last two renders are made from their motion; each render shows about one render "
                       "interval later; --smooth extrapolate adds no latency)",
        "extrapolate": "smooth motion: extrapolate (while renders are slower than the output, the frames after "
                       "each render go on along its motion, adding no latency; --smooth interpolate is smoother "
                       "but later, --smooth off repeats each render)",
        "off": "smooth motion: off (each render repeats until the next one; --smooth extrapolate fills them in)",
    }[mode]
