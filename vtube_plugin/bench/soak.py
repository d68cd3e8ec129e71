"""`vtube-plugin bench --soak MINUTES`: a whole stream with everything on at once, watched for what grows.

A real `vtube-plugin run` in a child process (so its memory, files and threads are its own): a replayed phone sends
iFacialMocap at 60 datagrams a second over loopback UDP, idle life, lip sync from a sound file played on loop, the
browser output with a viewer that reads every frame, a video recording, and VMC out to a socket read here. Every
minute and at the end it reports resident memory, open file descriptors and threads (from /proc), output fps,
renders a second, latency p50/p95 and the datagrams received and dropped; at the end, whether the recording
lasts as long as the stream did.
"""

from __future__ import annotations

import math
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import wave
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vtube_plugin.bench.live import ReplayedPhone
from vtube_plugin.live.latency import percentile

# "30.0 fps (24.6 distinct, extrapolate) | render  2.5/s": the part in brackets only while smoothing is on.
STATUS = re.compile(r"([\d.]+) fps(?: \(([\d.]+) distinct[^)]*\))? \| render\s+([\d.]+)/s")
DATAGRAMS = re.compile(r"ifacialmocap: (\d+) received, (\d+) dropped")
SUMMARY = re.compile(r"stopped \((.+?)\) after (\d+) frames, ([\d.]+) fps on average \(rendered; the outputs got "
                     r"([\d.]+) fps(?:, ([\d.]+) distinct)?\)")


def write_voice(path: Path, seconds: float = 6.0, rate: int = 16000) -> Path:
    """A voice-like sound: a 130 Hz buzz with its harmonics shaped like an open vowel, in syllables of about a
    quarter second, four seconds of talking and two of silence (a soak must not depend on a speech synthesizer)."""
    t = np.arange(int(seconds * rate)) / rate
    pitch = 130.0 * (1 + 0.05 * np.sin(2 * np.pi * 0.7 * t))
    phase = 2 * np.pi * np.cumsum(pitch) / rate
    buzz = sum(np.sin(k * phase) * math.exp(-((k * 130.0 - 800.0) / 500.0) ** 2) for k in range(1, 30))
    syllables = np.clip(np.sin(2 * np.pi * 2.0 * t), 0.0, None) ** 0.5 * (t < seconds - 2.0)
    samples = (buzz / np.max(np.abs(buzz)) * syllables * 0.5 * 32767).astype(np.int16)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return path


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def process_numbers(pid: int) -> dict:
    """Resident memory (MB), open file descriptors and threads of `pid`, from /proc (None where there is none)."""
    out = {"rss_mb": None, "fds": None, "threads": None}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                out["rss_mb"] = int(line.split()[1]) / 1024.0
            elif line.startswith("Threads:"):
                out["threads"] = int(line.split()[1])
        out["fds"] = len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        pass
    return out


class Counter:
    """A count read by another thread."""

    def __init__(self):
        self.value = 0
        self.bytes = 0

    def add(self, size: int) -> None:
        self.value += 1
        self.bytes += size


def read_vmc(sock: socket.socket, count: Counter, stop: threading.Event) -> None:
    sock.settimeout(0.5)
    while not stop.is_set():
        try:
            data = sock.recv(65536)
        except TimeoutError:
            continue
        except OSError:
            return
        count.add(len(data))


def watch_page(port: int, count: Counter, stop: threading.Event) -> None:
    """A viewer of the browser output that reads every frame pushed to it (what OBS's Browser Source does)."""
    import asyncio

    import aiohttp

    async def view() -> None:
        while not stop.is_set():
            try:
                async with aiohttp.ClientSession() as session, session.ws_connect(
                        f"ws://127.0.0.1:{port}/stream", origin=f"http://127.0.0.1:{port}", max_msg_size=0,
                        timeout=aiohttp.ClientWSTimeout(ws_close=5)) as viewer:
                    while not stop.is_set():
                        try:
                            message = await viewer.receive(timeout=1.0)
                        except TimeoutError:
                            continue
                        if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED,
                                            aiohttp.WSMsgType.ERROR):
                            break
                        count.add(len(message.data))
            except (OSError, aiohttp.ClientError, TimeoutError):  # not listening yet, or the run ended
                pass
            await asyncio.sleep(0.5)

    asyncio.run(view())


@dataclass
class ChildOutput:
    """What the run prints: its latest status line, its other lines and its last line (the summary)."""

    status: str = ""
    lines: list[str] = field(default_factory=list)

    def read(self, stream) -> None:
        rest = ""
        # Chunks, not lines: the status line is rewritten after a carriage return and never ends with a newline.
        while chunk := os.read(stream.fileno(), 65536):
            *parts, rest = (rest + chunk.decode("utf-8", errors="replace")).replace("\r", "\n").split("\n")
            for part in parts:
                text = part.strip()
                if STATUS.search(text):
                    self.status = text
                elif text:
                    self.lines.append(text)
                    del self.lines[:-200]  # bounded, an hour long
            rest = rest[-4096:]


class PoseFollower:
    """The --record-poses file read as it grows: renders and latencies since the last call."""

    def __init__(self, path: Path):
        self.path, self._offset, self._rest = path, 0, b""
        self.first_seen: float | None = None

    def take(self) -> list[tuple[float | None, bool]]:
        """(latency in ms, whether it is a render) for each new line; an in-between frame is not a render."""
        import json

        try:
            with self.path.open("rb") as f:
                f.seek(self._offset)
                data = f.read()
        except OSError:
            return []
        self._offset += len(data)
        *lines, self._rest = (self._rest + data).split(b"\n")
        if lines and self.first_seen is None:
            self.first_seen = time.monotonic()
        rows = [json.loads(line) for line in lines if line]
        return [(row.get("latency_ms"), row.get("frame", "rendered") == "rendered") for row in rows]


def recording_seconds(path: Path) -> tuple[int, float]:
    """(frames, seconds) of the recording, decoded with PyAV from its first frame to its last."""
    import av

    frames, end = 0, 0.0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            frames += 1
            end = float((frame.pts + (frame.duration or 0)) * frame.time_base)
    return frames, end


def soak_argv(folder: Path, *, phone_port: int, browser_port: int, vmc_port: int, fps: float, engine: str,
              precision: str, size: str | None) -> list[str]:
    argv = [sys.executable, "-m", "vtube_plugin", "run",
            "--source", f"ifacialmocap:phone=127.0.0.1,phone_port={phone_port},host=127.0.0.1,port=0",
            "--output", f"browser:port={browser_port},host=127.0.0.1", "--output", f"file:{folder / 'soak.mp4'}",
            "--record-poses", str(folder / "poses.jsonl"), "--send-vmc", f"127.0.0.1:{vmc_port}",
            "--lip-sync", f"file:{write_voice(folder / 'voice.wav')}", "--lip-sync-loop", "--idle", "on",
            "--fps", f"{fps:g}", "--engine", engine, "--precision", precision, "--control-port", "0", "--keys", "off"]
    return argv + (["--size", size] if size else [])


def run_soak(minutes: float, *, fps: float = 30.0, engine: str = "auto", precision: str = "auto",
             size: str | None = None, warmup: float = 120.0, every: float = 60.0, start_timeout: float = 600.0,
             say=print) -> dict:
    """Stream for `minutes` after the first frame; `warmup` seconds in, the memory, files and threads are taken as
    the baseline the end is compared with. Returns the figures (see docs/performance.md)."""
    seconds = minutes * 60.0
    with tempfile.TemporaryDirectory(prefix="vtube-soak-") as tmp:
        folder = Path(tmp)
        phone = ReplayedPhone(math.inf, wait=start_timeout)
        vmc = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        vmc.bind(("127.0.0.1", 0))
        browser_port = free_port()
        argv = soak_argv(folder, phone_port=phone.port, browser_port=browser_port, vmc_port=vmc.getsockname()[1],
                         fps=fps, engine=engine, precision=precision, size=size)
        env = dict(os.environ, VTUBE_PLUGIN_CONFIG=str(folder / "config"))  # no calibration or OBS of the user's
        stop = threading.Event()
        vmc_count, page_count, output = Counter(), Counter(), ChildOutput()
        child = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT)
        threads = [threading.Thread(target=output.read, args=(child.stdout,), daemon=True),
                   threading.Thread(target=read_vmc, args=(vmc, vmc_count, stop), daemon=True),
                   threading.Thread(target=watch_page, args=(browser_port, page_count, stop), daemon=True)]
        for thread in threads:
            thread.start()
        phone.start()
        poses = PoseFollower(folder / "poses.jsonl")
        minutes_report: list[dict] = []
        try:
            deadline = time.monotonic() + start_timeout
            while poses.first_seen is None:
                poses.take()
                if child.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the run did not start streaming:\n" + "\n".join(output.lines[-20:]))
                time.sleep(0.05)
            began = poses.first_seen
            say(f"soak: {minutes:g} min from the first frame; {' '.join(argv[3:])}")
            say(f"{'min':>5s} {'RSS MB':>7s} {'fds':>4s} {'thr':>4s} {'out fps':>8s} {'distinct':>8s} "
                f"{'renders/s':>9s} {'p50 ms':>7s} {'p95 ms':>7s} {'page fps':>8s} {'vmc/s':>6s} "
                f"{'datagrams recv/drop':>20s}")
            baseline = None
            last_at, last_page, last_vmc = began, 0, 0
            next_report = min(every, seconds)
            while True:
                now = time.monotonic() - began
                if child.poll() is not None:
                    raise RuntimeError("the run ended early:\n" + "\n".join(output.lines[-20:]))
                if baseline is None and now >= min(warmup, seconds):
                    baseline = process_numbers(child.pid)
                if now >= next_report:
                    taken = poses.take()
                    latencies = [ms for ms, _ in taken if ms is not None]
                    renders = sum(1 for _, rendered in taken if rendered)
                    span = time.monotonic() - last_at
                    row = dict(process_numbers(child.pid), minute=now / 60.0, **_status(output.status))
                    row.update(renders_per_s=renders / span, page_fps=(page_count.value - last_page) / span,
                               vmc_per_s=(vmc_count.value - last_vmc) / span,
                               p50_ms=percentile(latencies, 50) if latencies else None,
                               p95_ms=percentile(latencies, 95) if latencies else None)
                    last_at, last_page, last_vmc = time.monotonic(), page_count.value, vmc_count.value
                    minutes_report.append(row)
                    say(_row_text(row))
                    next_report += every
                if now >= seconds:
                    break
                time.sleep(0.2)
            # The phone stops first and the status line catches up, so every datagram sent is counted: it is
            # rewritten twice a second, later on a busy machine, so it is read until it has them all (15 s at most).
            phone.stop()
            caught_up = time.monotonic() + 15.0
            time.sleep(1.5)
            while (_status(output.status).get("received") or 0) < phone.sent and time.monotonic() < caught_up:
                time.sleep(0.5)
            end_numbers = process_numbers(child.pid)
            datagrams = _status(output.status)
            stopped_at = time.monotonic()
            child.send_signal(signal.SIGINT)  # Ctrl+C: the recording is finished as a user's is
            child.wait(timeout=120)
        finally:
            stop.set()
            phone.stop()
            if child.poll() is None:
                child.kill()
                child.wait(timeout=30)
            for thread in threads:
                thread.join(timeout=10)
            phone.close()
            vmc.close()
        summary = next((SUMMARY.search(line) for line in reversed(output.lines) if SUMMARY.search(line)), None)
        frames, recorded = recording_seconds(folder / "soak.mp4")
    wall = stopped_at - began
    baseline = baseline or end_numbers
    result = {
        "minutes": minutes, "fps_asked": fps, "warmup_s": warmup, "every_minute": minutes_report,
        "rss_warm_mb": baseline["rss_mb"], "rss_end_mb": end_numbers["rss_mb"],
        "fds_warm": baseline["fds"], "fds_end": end_numbers["fds"],
        "threads_warm": baseline["threads"], "threads_end": end_numbers["threads"],
        "output_fps": float(summary.group(4)) if summary else None,
        "render_fps": float(summary.group(3)) if summary else None,
        "distinct_fps": float(summary.group(5)) if summary and summary.group(5) else None,
        "datagrams_sent": phone.sent, "datagrams_received": datagrams.get("received"),
        "datagrams_dropped": datagrams.get("dropped"), "page_frames": page_count.value,
        "vmc_datagrams": vmc_count.value, "recording_frames": frames, "recording_s": recorded, "wall_s": wall,
        "exit_code": child.returncode,
    }
    if result["rss_end_mb"] is not None and result["rss_warm_mb"] is not None:
        result["rss_growth_mb"] = result["rss_end_mb"] - result["rss_warm_mb"]
    say(_end_text(result))
    return result


def _status(line: str) -> dict:
    out = {}
    if match := STATUS.search(line):
        out["output_fps_now"], out["renders_now"] = float(match.group(1)), float(match.group(3))
        out["distinct_now"] = float(match.group(2)) if match.group(2) else None
    if match := DATAGRAMS.search(line):
        out["received"], out["dropped"] = int(match.group(1)), int(match.group(2))
    return out


def _number(value, width: int, digits: int = 1) -> str:
    return f"{'-':>{width}s}" if value is None else f"{value:{width}.{digits}f}"


def _row_text(row: dict) -> str:
    datagrams = f"{row.get('received', '-')}/{row.get('dropped', '-')}"
    return (f"{row['minute']:5.1f} {_number(row['rss_mb'], 7)} {_number(row['fds'], 4, 0)} "
            f"{_number(row['threads'], 4, 0)} {_number(row.get('output_fps_now'), 8)} "
            f"{_number(row.get('distinct_now'), 8)} {row['renders_per_s']:9.1f} "
            f"{_number(row['p50_ms'], 7, 0)} {_number(row['p95_ms'], 7, 0)} {row['page_fps']:8.1f} "
            f"{row['vmc_per_s']:6.1f} {datagrams:>20s}")


def _end_text(r: dict) -> str:
    lost = None if r["datagrams_received"] is None else r["datagrams_sent"] - r["datagrams_received"]
    growth = r.get("rss_growth_mb")
    return "\n".join([
        f"end: {r['wall_s'] / 60:.1f} min streamed; memory {_number(r['rss_warm_mb'], 0)} MB after the warm-up -> "
        f"{_number(r['rss_end_mb'], 0)} MB ({'-' if growth is None else f'{growth:+.1f}'} MB)",
        f"  file descriptors {r['fds_warm']} -> {r['fds_end']}, threads {r['threads_warm']} -> {r['threads_end']}",
        f"  output {_number(r['output_fps'], 0, 2)} fps of {r['fps_asked']:g} asked ({_number(r['distinct_fps'], 0)} "
        f"distinct), {_number(r['render_fps'], 0)} "
        f"renders a second; the page got {r['page_frames']} frames, VMC out {r['vmc_datagrams']} datagrams",
        f"  datagrams: {r['datagrams_sent']} sent, {r['datagrams_received']} received, {r['datagrams_dropped']} "
        f"dropped as malformed, {lost} lost",
        f"  recording: {r['recording_frames']} frames, {r['recording_s']:.2f} s for {r['wall_s']:.2f} s of wall clock "
        f"({r['recording_s'] - r['wall_s']:+.2f} s)",
    ])
