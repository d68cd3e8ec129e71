"""The fp32 floor: the fastest any fp32 engine could render a frame on this CPU, for the bench to print.

A frame is a fixed amount of arithmetic (the network's convolutions, counted by torch's FLOP counter), and
no engine does that arithmetic faster than this CPU multiplies large matrices; the floor shows how much
room the fastest engine has left, and which speed-ups only a lower precision could reach.
"""

from __future__ import annotations

import time

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from vtube_plugin.render.export import EXPORTED_STAGES, StageModule, sample_inputs


def stage_flops(network: nn.Module) -> dict[str, int]:
    """Floating-point operations of one run of each per-frame stage (a multiply-add counts as two)."""
    inputs = sample_inputs(network)
    flops = {}
    for stage in EXPORTED_STAGES:
        counter = FlopCounterMode(display=False)
        with counter, torch.inference_mode():
            StageModule(network, stage)(*inputs[stage])
        flops[stage] = counter.get_total_flops()
    return flops


def matmul_rate(repeats: int = 50) -> float:
    """This CPU's fp32 matrix-multiply rate in FLOP/s with torch's threads: the best of `repeats` products of
    the shape a 1x1 convolution has (4096 pixels x 512 channels by 512 x 512)."""
    a, b = torch.randn(4096, 512), torch.randn(512, 512)
    out = a @ b
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b, out=out)
        best = min(best, time.perf_counter() - start)
    return 2 * a.shape[0] * a.shape[1] * b.shape[1] / best
