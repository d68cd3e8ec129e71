"""The disk under a recording fills up (a real tmpfs of 48 KiB), 20 streams in a row: the recording stops with one
clear message, cut back to its last whole second so what was written plays (decoded with PyAV); the stream goes
on to its end, and the other outputs on another disk (a second recording, --record-poses) miss nothing.
"""

from __future__ import annotations

import io

import av
import numpy as np
from live_process import read_poses, read_video
from loop_clock import LoopClock
from small_disk import small_disk

from vtube_plugin.live.loop import LiveLoop
from vtube_plugin.mapping.mapper import Mapper
from vtube_plugin.mapping.profile import load_profile
from vtube_plugin.sinks.file import FileSink
from vtube_plugin.sinks.video import partial_name
from vtube_plugin.sources.none import NoSource

STREAMS = 20
FRAMES = 90  # 3 s at 30 fps: the first second fits on the small disk, the second does not
FPS = 30


class NumberedRenderer:
    """Frame n shows grey 10 + 4 (n mod 60) in a flat square, to read back which frames a file holds (fewer than
    60), beside noise, so that a second of video takes about 27 KB."""

    size = 64

    def __init__(self):
        self.count = 0
        self.rng = np.random.default_rng(7)

    def render(self, pose):
        self.count += 1
        rgba = np.full((64, 64, 4), 255, np.uint8)
        rgba[:32, :32, :3] = self.rng.integers(0, 256, (32, 32, 3))
        rgba[40:, 40:, :3] = 10 + 4 * (self.count % 60)
        return rgba


def numbers(frames) -> list[int]:
    return [int(round((float(f[48:56, 48:56].mean()) - 10) / 4)) for f in frames]


def test_a_full_disk_stops_the_recording_not_the_stream(tmp_path):
    with small_disk(tmp_path / "small", "48k") as disk:
        for stream in range(STREAMS):
            take, other, poses = disk / "take.mp4", tmp_path / f"other-{stream}.mp4", tmp_path / f"poses-{stream}.jsonl"
            full, elsewhere = FileSink(take, (64, 64), FPS), FileSink(other, (64, 64), FPS)
            status, clock = io.StringIO(), LoopClock()
            summary = LiveLoop(source=NoSource(), mapper=Mapper(load_profile("arkit")), renderer=NumberedRenderer(),
                               sinks=[full, elsewhere], fps=FPS, record_poses=poses, max_frames=FRAMES,
                               status_stream=status, clock=clock, sleep=clock.sleep, render_thread=False).run()

            # The stream went on to its end.
            assert summary.frames == FRAMES and summary.stopped_by == "max-frames"
            # One clear line, once.
            said = [line for line in status.getvalue().split("\n") if "the disk is full" in line]
            assert len(said) == 1, status.getvalue()
            assert f"the recording to {take} stopped: the disk is full (No space left on device)" in said[0]
            assert f"kept in {partial_name(take)} and plays; the stream goes on" in said[0]
            # What was written plays: the first frames, in order, to the last whole second. A frame the encoder
            # could not take in time on a busy CPU is skipped and counted (as on any recording), never reordered.
            assert not take.exists()
            kept = numbers(read_video(partial_name(take)))
            missing = set(range(1, kept[-1] + 1)) - set(kept)
            assert kept[0] == 1 and kept == sorted(set(kept)) and len(missing) <= full.skipped, (kept, full.skipped)
            assert FPS - 1 - full.skipped <= len(kept) < FRAMES - FPS, kept
            # The other outputs on another disk got everything.
            assert len(read_poses(poses)) == FRAMES
            with av.open(str(other)) as container:
                assert len(list(container.decode(video=0))) == FRAMES - elsewhere.skipped
            partial_name(take).unlink()  # room again for the next stream


def test_a_full_disk_stops_the_pose_recording_not_the_stream(tmp_path):
    with small_disk(tmp_path / "small", "16k") as disk:
        for stream in range(STREAMS):
            poses, video = disk / "poses.jsonl", tmp_path / f"take-{stream}.mp4"
            sink, status, clock = FileSink(video, (64, 64), FPS), io.StringIO(), LoopClock()
            summary = LiveLoop(source=NoSource(), mapper=Mapper(load_profile("arkit")), renderer=NumberedRenderer(),
                               sinks=[sink], fps=FPS, record_poses=poses, max_frames=FRAMES, status_stream=status,
                               clock=clock, sleep=clock.sleep, render_thread=False).run()
            assert summary.frames == FRAMES and summary.stopped_by == "max-frames"
            said = [line for line in status.getvalue().split("\n") if "--record-poses" in line]
            assert len(said) == 1 and "No space left on device" in said[0], status.getvalue()
            # Whole lines only, the first frames' in order, and as many as it says.
            text = poses.read_text(encoding="utf-8")
            rows = read_poses(poses)
            assert text.endswith("\n") and 0 < len(rows) < FRAMES and f"The {len(rows)} lines written" in said[0]
            assert [r["time"] for r in rows] == [round(n / FPS, 4) for n in range(len(rows))]
            with av.open(str(video)) as container:  # the video on the other disk has every frame
                assert len(list(container.decode(video=0))) == FRAMES - sink.skipped
            poses.unlink()
