"""`vtube-plugin run` with the real THA3 renderer and no camera: idle life with `--source none` (blinks, both
eyes shut in the video, breathing on its clock, sway inside its amplitude), a VMC sender of the mouth only
(real UDP on loopback) getting blinks and breathing while its mouth passes through, lost tracking fading idle
life in, and lip sync from the microphone (a real PulseAudio device) handing the mouth back to tracking in
silence.

Few frames each: the renderer costs ~0.3 s a frame on a CPU, so frames are far apart; the idle settings are
made quick (a blink every 0.5 s) so that a dozen frames show several. test_idle_life.py counts blinks over
minutes on a seeded clock.
"""

from __future__ import annotations

import math
import signal
import socket
import subprocess
import threading
import time

import pytest
from live_process import SAMPLE_LEFT_EYE, SAMPLE_RIGHT_EYE, LiveProcess, iris_pixels, read_poses, read_video
from pulse_sink import client_env, null_sink  # noqa: F401 - null_sink is a fixture
from udp_sender import free_udp_port
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


def quick_idle(tmp_path):
    path = tmp_path / "idle.toml"
    path.write_text(QUICK_IDLE, encoding="utf-8")
    return path


def shut(pose: dict) -> bool:
    return pose["eye_wink_left"] == 1.0 and pose["eye_wink_right"] == 1.0


def breathes_on_the_clock(rows: list[dict], some: list[dict]) -> bool:
    """Idle breathing goes on under tracking that never sends it: a 1.5 s cycle on the frame clock, 0 at the
    first frame. Checked on the clock, not on a height, so a fast machine's short phase still counts."""
    start = rows[0]["time"]
    return bool(some) and all(
        r["pose"]["breathing"] == pytest.approx(0.5 - 0.5 * math.cos(2 * math.pi * (r["time"] - start) / 1.5),
                                                abs=0.01) for r in some)


def test_with_no_tracker_the_character_blinks_breathes_and_sways(tmp_path, tha3_weights_dir):
    video, poses = tmp_path / "idle.mp4", tmp_path / "poses.jsonl"
    argv = ["run", "--source", "none", "--idle", str(quick_idle(tmp_path)), "--output", f"file:{video}",
            "--record-poses", str(poses), "--max-frames", "12", "--control-port", "0", "--keys", "off",
            "--smooth", "off"]  # one --record-poses line per render
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
    The next phase starts when the recording has `frames_per_phase` more frames spanning `seconds_per_phase`
    (frames alone get shorter as the renderer gets faster, and the tracking eases in over 0.5 s)."""

    def __init__(self, port: int, poses, frames_per_phase: int, seconds_per_phase: float = 1.2):
        self.port, self.poses, self.per_phase, self.seconds = port, poses, frames_per_phase, seconds_per_phase
        self.switched_at: list[int] = []  # recorded frames when phases 2 and 3 began
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._send, daemon=True)

    def _send(self) -> None:
        phases = [blend({"A": 0.6}), blend({"A": 0.6, "Blink": 0.0}), None]
        phase, since = 0, None
        deadline = time.monotonic() + 600
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as out:
            while not self.stop.wait(0.03) and time.monotonic() < deadline:
                rows = read_poses(self.poses)
                count = len(rows)
                if since is None and any(r["tracking"] for r in rows):
                    since = count
                if (since is not None and phase < 2 and count - since >= self.per_phase
                        and rows[-1]["time"] - rows[since - 1]["time"] >= self.seconds):
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
            "--output", f"file:{tmp_path / 'x.mp4'}", "--record-poses", str(poses), "--max-frames", "40",
            "--lost-after", "0.3", "--control-port", "0", "--keys", "off", "--size", "256x256", "--smooth", "off"]
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
    assert breathes_on_the_clock(rows, mouth_only)
    # Now it sends open eyes too: tracking wins, no idle blink while tracked; breathing goes on.
    assert eyes_too and all(r["tracking"] for r in eyes_too)
    assert all(r["pose"]["eye_wink_left"] == 0.0 for r in eyes_too[1:])
    assert breathes_on_the_clock(rows, eyes_too)
    # Lost: the tracked mouth eases away and idle blinks come back, fully. The two tracked phases take at least
    # 1.2 s each; on a fast machine (0.1 s a frame) that leaves about 15 frames lost, still over a second past
    # the easing, two blinks' worth; a slow one has more.
    settled = [r for r in lost if r["time"] > lost[0]["time"] + 0.6]
    assert settled, [r["time"] for r in lost]
    assert all(r["pose"]["mouth_aaa"] == 0.0 for r in settled)
    assert any(shut(r["pose"]) for r in settled)


def test_lip_sync_from_the_microphone_drives_the_mouth_while_talking_and_tracking_in_silence(
        tmp_path, tha3_weights_dir, null_sink):  # noqa: F811
    """`--lip-sync mic` over a real capture device (a PulseAudio null sink's monitor) while a VMC sender keeps
    the mouth a little open: talking, the voice has the mouth; after it, the tracked mouth is back as sent.
    The speech plays in a loop until a frame has shown it, so slow frames only make the test longer."""
    from speech import SENTENCE, speak

    voice = speak(tmp_path / "hello.wav", SENTENCE, pad=(0.0, 0.0))
    port = free_udp_port()
    poses = tmp_path / "poses.jsonl"
    argv = ["run", "--source", f"vmc:port={port},host=127.0.0.1", "--lip-sync", "mic", "--idle", "off",
            "--output", f"file:{tmp_path / 'x.mp4'}", "--record-poses", str(poses), "--max-frames", "200",
            "--control-port", "0", "--keys", "off", "--size", "256x256", "--smooth", "off"]
    vowels = ("mouth_aaa", "mouth_iii", "mouth_uuu", "mouth_eee", "mouth_ooo")
    tracked_mouth = [0.3, 0.0, 0.0, 0.0, 0.0]

    def mouth(row):
        return [row["pose"][v] for v in vowels]

    def voiced(row):  # a tracked frame whose mouth is not the tracker's
        return row["tracking"] and max(abs(a - b) for a, b in zip(mouth(row), tracked_mouth)) > 0.1

    stop, talk = threading.Event(), threading.Event()

    def tracker():  # a mouth a little open, all the time
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as out:
            while not stop.wait(0.03):
                try:
                    out.sendto(blend({"A": 0.3}), ("127.0.0.1", port))
                except OSError:
                    pass

    def speaker():  # the voice, again and again while `talk` is set; cut off as soon as it is cleared
        while not stop.is_set():
            if not talk.wait(0.05):
                continue
            player = subprocess.Popen(["paplay", f"--device={null_sink}", str(voice)])
            while player.poll() is None and talk.is_set() and not stop.is_set():
                time.sleep(0.02)
            if player.poll() is None:
                player.terminate()
            player.wait(timeout=10)

    def wait_rows(run, enough, timeout=400.0):
        deadline = time.monotonic() + timeout
        while run.running and time.monotonic() < deadline:
            rows = read_poses(poses)
            if enough(rows):
                return rows
            time.sleep(0.05)
        raise AssertionError(f"timed out; {len(read_poses(poses))} frames; {run.output[-2000:]}")

    threads = [threading.Thread(target=f, daemon=True) for f in (tracker, speaker)]
    run = LiveProcess(argv, tmp_path / "config")
    run.env.update(client_env(), PULSE_SOURCE=f"{null_sink}.monitor")  # the sink's monitor is the default mic
    with run:
        for thread in threads:
            thread.start()
        try:
            wait_rows(run, lambda rows: any(r["tracking"] and mouth(r) == pytest.approx(tracked_mouth, abs=2e-3)
                                            for r in rows))
            talk.set()
            talk_from = len(read_poses(poses))
            rows = wait_rows(run, lambda rows: any(voiced(r) for r in rows[talk_from:]))
            talk.clear()
            quiet_from = len(rows) + 1  # frames begun after the voice stopped (the current one may not have)
            time.sleep(1.0)  # the player is cut off; the voice hands the mouth back within 0.25 s
            quiet_from = max(quiet_from, len(read_poses(poses)) + 1)
            wait_rows(run, lambda rows: len(rows) >= quiet_from + 2)
            run.process.send_signal(signal.SIGINT)  # Ctrl+C: the stream stops as a user stops it
            code, output = run.finish(timeout=60)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=20)
    assert code == 0, output
    assert "stopped (Ctrl+C)" in output
    assert "lip sync from mic (default), mode auto" in output
    assert "| voice " in output and " dB" in output  # the status line shows the voice level
    rows = read_poses(poses)
    eased = next(i for i, r in enumerate(rows) if r["tracking"] and mouth(r) == pytest.approx(tracked_mouth, abs=2e-3))
    assert not any(voiced(r) for r in rows[eased:talk_from])  # before the voice: the tracked mouth
    assert any(voiced(r) for r in rows[talk_from:quiet_from])  # while talking: the voice's
    for r in rows[quiet_from:]:  # silence: the tracked mouth is back, as it was sent
        assert r["tracking"] and mouth(r) == pytest.approx(tracked_mouth, abs=2e-3)
