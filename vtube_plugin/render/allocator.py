"""Keep glibc from handing big tensors back to the OS after every frame (Linux CPU rendering).

A frame allocates and frees hundreds of 16-100 MB tensors. By default glibc serves those with fresh
mmaps and trims its heap, so every frame pays ~400,000 page faults; this halves the frame time or better.
Set VTUBE_PLUGIN_MALLOC_TUNING=0 to leave the allocator alone.
"""

from __future__ import annotations

import ctypes
import os
import sys

_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_MAX = -1, -2, -4
_done = False


def tune_allocator() -> bool:
    """Apply once per process; True when glibc took the settings."""
    global _done
    if _done:
        return True
    if not sys.platform.startswith("linux") or os.environ.get("VTUBE_PLUGIN_MALLOC_TUNING") == "0":
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl or another libc: nothing to tune
        return False
    ok = (mallopt(_M_MMAP_MAX, 0) == 1  # big blocks from the heap, reused frame after frame
          and mallopt(_M_TRIM_THRESHOLD, 2**31 - 1) == 1  # never shrink the heap between frames
          and mallopt(_M_TOP_PAD, 256 << 20) == 1)  # grow it in large steps
    _done = ok
    return ok
