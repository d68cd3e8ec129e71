"""`--smooth` timing on a simulated clock (live/smooth_motion.py with the flow worker unthreaded): which moment each
output frame stands for, and which render it brings out. The pictures are a small square sliding across a
transparent frame, enough for the flow to follow; their quality is tests/test_inbetween_frames.py's subject.
"""

from __future__ import annotations

import numpy as np
import pytest

from vtube_plugin.live.flow_worker import FlowWorker
from vtube_plugin.live.smooth_motion import Smoothing
from vtube_plugin.live.worker import Rendered
from vtube_plugin.pose import Pose

PERIOD = 1 / 30  # output frames
INTERVAL = 0.2  # between renders: six output frames
RENDER = 0.15  # each render's own time: its pose is taken this long before it lands


def square(left: int) -> np.ndarray:
    rgba = np.zeros((48, 64, 4), np.uint8)
    rgba[16:32, left:left + 12] = (200, 120, 60, 255)
    rgba[20:28, left + 3:left + 9, :3] = 30
    return rgba


def rendered(number: int) -> Rendered:
    landed = number * INTERVAL
    return Rendered(number, square(8 + 2 * number), Pose().replace(head_y=0.1 * number), landed - RENDER,
                    landed - RENDER - 0.01, True, RENDER, landed)


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def landed(flows: FlowWorker, clock: Clock, number: int) -> Rendered:
    r = rendered(number)
    clock.now = r.finished_at
    flows.landed(r)
    return r


def test_interpolated_frames_stand_exactly_one_render_interval_behind_and_bring_the_older_render_out():
    clock = Clock()
    flows = FlowWorker(PERIOD, clock, threaded=False)
    smoothing = Smoothing("interpolate", flows)
    landed(flows, clock, 1)
    newest = landed(flows, clock, 2)
    for k in range(1, 6):
        at = newest.finished_at + k * PERIOD
        shown = smoothing.shown(newest, at)
        assert not shown.whole and shown.since.number == 1 and shown.newer.number == 2
        # off shows a render's pose RENDER after it was taken; interpolating adds one interval, not a moment more
        assert shown.posed_at == pytest.approx(at - RENDER - INTERVAL, abs=2e-3)
        assert shown.pose["head_y"] == pytest.approx(0.1 + 0.1 * k * PERIOD / INTERVAL, abs=1e-3)
    # past the pair's interval (the next render is late) it holds the newer render as it is
    late = smoothing.shown(newest, newest.finished_at + 1.2 * INTERVAL)
    assert late.whole and late.since.number == 2


def test_extrapolated_frames_stand_ahead_of_the_newest_render_and_bring_it_out():
    clock = Clock()
    flows = FlowWorker(PERIOD, clock, threaded=False)
    smoothing = Smoothing("extrapolate", flows)
    for number in (1, 2):
        landed(flows, clock, number)
    newest = landed(flows, clock, 3)
    at = newest.finished_at + 2 * PERIOD
    shown = smoothing.shown(newest, at)
    assert not shown.whole and shown.since.number == 3
    assert shown.posed_at == pytest.approx(newest.posed_at + 2 * PERIOD, abs=2e-3)  # ahead, no latency added
