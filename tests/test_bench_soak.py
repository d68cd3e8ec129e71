"""`vtube-plugin bench --soak`, its short version: a minute of a real `run` with everything on at once (a replayed
phone over loopback UDP, idle life, lip sync from a looped sound file, the browser output and a viewer reading every
frame, a recording, VMC out). What must stay flat stays flat, nothing sent is lost, and the recording lasts as long
as the stream. Speed itself is not asserted (a shared 2-core machine); the 60-minute figures are in
docs/performance.md.
"""

from __future__ import annotations

import sys

import pytest

from vtube_plugin.bench.soak import run_soak

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def test_a_minute_with_everything_on_keeps_memory_files_and_threads_flat(tha3_weights_dir):
    lines: list[str] = []
    r = run_soak(1.0, engine="openvino", precision="fp32", size="256x256", warmup=20.0, every=20.0,
                 say=lines.append)
    report = "\n".join(lines)

    assert r["exit_code"] == 0, report
    assert len(r["every_minute"]) == 3, report  # a report every 20 s here (every minute by default)
    assert r["fds_end"] <= r["fds_warm"] + 1, report  # no socket, file or pipe left open per frame or datagram
    assert r["threads_end"] <= r["threads_warm"] + 1, report
    assert r["rss_growth_mb"] < 40, report  # the goal is 30 MB in an hour
    assert r["datagrams_received"] == r["datagrams_sent"] > 1000 and r["datagrams_dropped"] == 0, report
    assert r["page_frames"] > 0 and r["vmc_datagrams"] > 1000, report  # the viewer and VMC out were fed all along
    assert abs(r["recording_s"] - r["wall_s"]) < 1.0, report  # the recording is real time
    assert "datagrams:" in report and "recording:" in report
