"""`vtube-plugin run` with the real THA3 renderer and no camera: idle life with `--source none` (blinks, both
eyes shut in the video, breathing on its clock, sway inside its amplitude), a VMC sender of the mouth only
(real UDP on loopback) getting blinks and breathing while its mouth passes through, lost tracking fading idle
life in, and lip sync from a sound file handing the mouth back to tracking in silence.

Few frames each: the renderer costs ~0.3 s a frame on a CPU, so frames are far apart; the idle settings are
made quick (a blink every 0.5 s) so that a dozen frames show several. test_idle_life.py counts blinks over
minutes on a seeded clock.
"""

from __future__ import annotations

import math
import signal
import socket
import threading
import time

import pytest
from live_process import SAMPLE_LEFT_EYE, SAMPLE_RIGHT_EYE, LiveProcess, iris_pixels, read_poses, read_video
from vmc_packets import blend

QUICK_IDLE = """
seed = 1
[blink]
interval = [0.5, 0.5]
duration = [0.1, 0.1]
double_chance = 0.0
[breathing]
cycle = [1.5, 1.5]
"""
SWAY = {"head_x": 0.05, "head_y": 0.08, "neck_z": 0.06, "body_y": 0.06, "body_z": 0.04}  # profiles/idle.toml


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def quick_idle(tmp_path):
    path = tmp_path / "idle.toml"
    path.write_text(QUICK_IDLE, encoding="utf-8")
    return path


def shut(pose: dict) -> bool:
    return pose["eye_wink_left"] == 1.0 and pose["eye_wink_right"] == 1.0


def test_with_no_tracker_the_character_blinks_breathes_and_sways(tmp_path, tha3_weights_dir):
    video, poses = tmp_path / "idle.mp4", tmp_path / "poses.jsonl"
    argv = ["run", "--source", "none", "--idle", str(quick_idle(tmp_path)), "--output", f"file:{video}",
            "--record-poses", str(poses), "--max-frames", "12", "--control-port", "0", "--keys", "off"]
    with LiveProcess(argv, tmp_path / "config") as run:
        code, output = run.finish(timeout=300)
    assert code == 0, output
    rows = read_poses(poses)
    assert len(rows) == 12
    times = [r["time"] for r in rows]
    elapsed, gap = times[-1] - times[0], max(b - a for a, b in zip(times, times[1:]))

    # Blinks: every 0.5 s + 0.1 s of blinking, each shown shut in at least one frame however slow the frames;
    # a blink waits at most two frames for its shut and open frames.
    blinks = sum(1 for a, b in zip(rows, rows[1:]) if shut(b["pose"]) and not shut(a["pose"]))
    assert blinks <= elapsed / 0.5 + 1
    assert blinks >= int(elapsed / (0.6 + 2 * gap)) - 1 and blinks >= 1, (blinks, elapsed, gap)
    assert all(r["pose"]["eye_wink_left"] == r["pose"]["eye_wink_right"] for r in rows)

    # Breathing runs on the frame clock from the first frame: a 1.5 s cycle, 0 at the start.
    for r in rows:
        expected = 0.5 - 0.5 * math.cos(2 * math.pi * (r["time"] - times[0]) / 1.5)
        assert r["pose"]["breathing"] == pytest.approx(expected, abs=0.01)
    assert max(r["pose"]["breathing"] for r in rows) - min(r["pose"]["breathing"] for r in rows) > 0.5

    for name, amplitude in SWAY.items():
        values = [abs(r["pose"][name]) for r in rows]
        assert max(values) <= amplitude + 1e-4, name
    assert max(abs(r["pose"]["head_y"]) for r in rows[1:]) > 0.0  # it does move

    # The video: in a shut frame neither iris shows; in the first (rest) frame both do.
    frames = read_video(video)
    first_shut = next(i for i, r in enumerate(rows) if shut(r["pose"]))
    for eye in (SAMPLE_LEFT_EYE, SAMPLE_RIGHT_EYE):
        assert iris_pixels(frames[0], eye) > 40
        assert iris_pixels(frames[first_shut], eye) < 0.1 * iris_pixels(frames[0], eye)


class PhasedSender:
    """A VMC app on loopback: the mouth only, then the mouth and open eyes, then nothing (tracking lost).
    The next phase starts when the recording has `frames_per_phase` more frames."""

    def __init__(self, port: int, poses, frames_per_phase: int):
        self.port, self.poses, self.per_phase = port, poses, frames_per_phase
        self.switched_at: list[int] = []  # recorded frames when phases 2 and 3 began
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._send, daemon=True)

    def _send(self) -> None:
        phases = [blend({"A": 0.6}), blend({"A": 0.6, "Blink": 0.0}), None]
        phase, since = 0, None
        deadline = time.monotonic() + 600
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as out:
            while not self.stop.wait(0.03) and time.monotonic() < deadline:
                tracked = [r for r in read_poses(self.poses) if r["tracking"]]
                count = len(read_poses(self.poses))
                if since is None and tracked:
                    since = count
                if since is not None and phase < 2 and count - since >= self.per_phase:
                    phase, since = phase + 1, count
                    self.switched_at.append(count)
                if phases[phase] is not None:
                    try:
                        out.sendto(phases[phase], ("127.0.0.1", self.port))
                    except OSError:
                        pass


def test_a_vmc_sender_of_the_mouth_only_gets_blinks_and_breathing_and_lost_tracking_fades_idle_in(
        tmp_path, tha3_weights_dir):
    port = free_udp_port()
    poses = tmp_path / "poses.jsonl"
    argv = ["run", "--source", f"vmc:port={port},host=127.0.0.1", "--idle", str(quick_idle(tmp_path)),
            "--output", f"file:{tmp_path / 'x.mp4'}", "--record-poses", str(poses), "--max-frames", "14",
            "--lost-after", "0.3", "--control-port", "0", "--keys", "off", "--size", "256x256"]
    with LiveProcess(argv, tmp_path / "config") as run:
        sender = PhasedSender(port, poses, frames_per_phase=4)
        sender.thread.start()
        try:
            code, output = run.finish(timeout=400)
        finally:
            sender.stop.set()
            sender.thread.join(timeout=10)
    assert code == 0, output
    rows = read_poses(poses)
    assert len(sender.switched_at) == 2, (sender.switched_at, len(rows))
    first = next(i for i, r in enumerate(rows) if r["tracking"])
    mouth_only = rows[first:sender.switched_at[0]]
    eyes_too = rows[sender.switched_at[0] + 1:sender.switched_at[1]]
    lost = [r for r in rows[sender.switched_at[1]:] if not r["tracking"]]

    # The mouth only: once tracking has eased in (0.5 s) its mouth passes through unchanged; idle life adds
    # blinks and breathing, which this sender never sends.
    eased = [r for r in mouth_only if r["time"] > mouth_only[0]["time"] + 0.6]
    assert eased, [r["time"] for r in mouth_only]
    assert all(r["pose"]["mouth_aaa"] == pytest.approx(0.6, abs=2e-3) for r in eased)
    assert any(shut(r["pose"]) for r in mouth_only)
    assert max(r["pose"]["breathing"] for r in mouth_only) > 0.3
    # Now it sends open eyes too: tracking wins, no idle blink while tracked; breathing goes on.
    assert eyes_too and all(r["tracking"] for r in eyes_too)
    assert all(r["pose"]["eye_wink_left"] == 0.0 for r in eyes_too[1:])
    assert max(r["pose"]["breathing"] for r in eyes_too) > 0.3
    # Lost: the tracked mouth eases away and idle blinks come back, fully.
    settled = [r for r in lost if r["time"] > lost[0]["time"] + 0.6]
    assert settled, [r["time"] for r in lost]
    assert all(r["pose"]["mouth_aaa"] == 0.0 for r in settled)
    assert any(shut(r["pose"]) for r in settled)


def test_lip_sync_from_a_file_drives_the_mouth_while_talking_and_tracking_in_silence(tmp_path, tha3_weights_dir):
    from speech import audible_span, read_sound, speak

    # Six seconds of talking: the file plays in real time, so even slow frames (a few seconds each) see it.
    voice = speak(tmp_path / "hello.wav", "Hello everyone, welcome back to the stream. Today we are going to play "
                  "something really fun together, so stay with me.", pad=(0.8, 2.5))
    begin, end = audible_span(read_sound(voice))
    port = free_udp_port()
    poses = tmp_path / "poses.jsonl"
    argv = ["run", "--source", f"vmc:port={port},host=127.0.0.1", "--lip-sync", f"file:{voice}",
            "--idle", "off", "--output", f"file:{tmp_path / 'x.mp4'}", "--record-poses", str(poses),
            "--max-frames", "200", "--control-port", "0", "--keys", "off", "--size", "256x256"]
    stop = threading.Event()

    def tracker():  # a mouth a little open, all the time
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as out:
            while not stop.wait(0.03):
                try:
                    out.sendto(blend({"A": 0.3}), ("127.0.0.1", port))
                except OSError:
                    pass

    sender = threading.Thread(target=tracker, daemon=True)
    with LiveProcess(argv, tmp_path / "config") as run:
        sender.start()
        try:
            deadline = time.monotonic() + 400
            while run.running and time.monotonic() < deadline:
                rows = read_poses(poses)
                if rows and rows[-1]["time"] > end + 1.5:
                    run.process.send_signal(signal.SIGINT)  # Ctrl+C: the stream stops as a user stops it
                    break
                time.sleep(0.1)
            code, output = run.finish(timeout=60)
        finally:
            stop.set()
            sender.join(timeout=10)
    assert code == 0, output
    assert "stopped (Ctrl+C)" in output
    assert "lip sync from file hello.wav, mode auto" in output
    assert "| voice " in output and " dB" in output  # the status line shows the voice level
    rows = read_poses(poses)
    vowels = ("mouth_aaa", "mouth_iii", "mouth_uuu", "mouth_eee", "mouth_ooo")

    def mouth(r):
        return [r["pose"][v] for v in vowels]

    talking = [r for r in rows if begin + 0.05 < r["time"] < end and r["tracking"]]
    gap = max(b["time"] - a["time"] for a, b in zip(rows, rows[1:]))
    assert talking, f"the renderer was too slow to show the speech ({gap:.1f} s between frames)"
    assert any(abs(m[0] - 0.3) > 0.1 or max(m[1:]) > 0.1 for m in map(mouth, talking)), [mouth(r) for r in talking]
    silent = [r for r in rows if r["time"] > end + 0.5 and r["tracking"]]
    assert silent
    for r in silent:  # the voice has stopped: the tracked mouth is back, as it was sent
        assert mouth(r) == pytest.approx([0.3, 0.0, 0.0, 0.0, 0.0], abs=2e-3)
