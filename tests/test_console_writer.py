"""The console writer on a real pipe nobody reads for a while: nothing waits for it, the status line is the newest
one, messages are kept in order up to a bound and the rest said as a count; a fault that lasts says one line when
it begins and one when it ends, with a count on the status line meanwhile."""

from __future__ import annotations

import fcntl
import os
import sys
import threading

import pytest

from vtube_plugin.live.console_writer import ConsoleWriter
from vtube_plugin.live.status import Conditions, StatusLine

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="F_SETPIPE_SZ is Linux's")


def read_everything(fd: int) -> str:
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    return b"".join(chunks).decode("utf-8")


@linux_only
def test_a_pipe_nobody_reads_holds_up_nothing_and_loses_only_what_it_says(tmp_path):
    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, 1031, 4096)  # F_SETPIPE_SZ: one page
    stream = os.fdopen(write_end, "w", encoding="utf-8")
    writer = ConsoleWriter(stream, keep=50).start()

    def stream_on() -> None:
        for i in range(5000):  # far more than one page, while nobody reads
            writer.status(f"status {i:05d} " + "-" * 100)
            if i % 10 == 0:
                writer.message(f"message {i // 10:03d} " + "." * 200)

    streaming = threading.Thread(target=stream_on)
    streaming.start()
    streaming.join(timeout=60)
    assert not streaming.is_alive()  # none of the calls waited for the console (a blocked one never returns)
    assert writer.drain(0.5) is False  # the console is stuck: the writer says so instead of waiting

    text = []
    reader = threading.Thread(target=lambda: text.append(read_everything(read_end)))
    reader.start()
    assert writer.drain(10.0) is True
    writer.end_status()
    writer.close()
    stream.close()
    reader.join(timeout=10)
    lines = text[0].replace("\r", "\n").split("\n")
    messages = [line for line in lines if line.startswith("message")]
    # Kept: what the pipe took, the batch being written when it filled, and the 50 waiting behind it.
    assert 50 <= len(messages) < 200 and messages[0].startswith("message 000")
    assert messages == sorted(messages)  # in order
    dropped = [line for line in lines if "console messages were left out" in line]
    # Said once for each time the console fell behind (here the tight loop can outrun the writer before the pipe
    # is even full), and together they count every message left out.
    assert 1 <= len(dropped) <= 3 and sum(int(line.strip("(").split()[0]) for line in dropped) == 500 - len(messages)
    statuses = [line for line in lines if line.startswith("status")]
    assert statuses[-1].startswith("status 04999") and len(statuses) < 1000  # the newest, most never written


def test_every_print_to_stderr_becomes_a_message_in_order():
    import io

    out = io.StringIO()
    before = sys.stderr
    with ConsoleWriter(out) as writer:
        writer.status("12.0 fps")
        with writer.redirected():
            print("vmc: receiving from 127.0.0.1", file=sys.stderr)
            sys.stderr.write("half a ")
            sys.stderr.write("line\n")
        writer.status("13.0 fps")
        writer.end_status()
    shown = out.getvalue()
    assert sys.stderr is before  # put back
    assert shown.index("vmc: receiving") < shown.index("half a line\n") < shown.index("13.0 fps")
    assert shown.endswith("13.0 fps\n")


def test_a_lasting_fault_says_one_line_each_way_and_counts_on_the_status_line():
    said: list[str] = []
    now = [0.0]
    faults = Conditions(said.append, clock=lambda: now[0])
    for _ in range(300):  # a webcam that fails every read for five minutes
        faults.set("webcam gone", "webcam: no picture from /dev/video0; retrying")
        now[0] += 1.0
    assert said == ["webcam: no picture from /dev/video0; retrying"]
    assert faults.text() == "webcam gone (300 times)"
    faults.clear("webcam gone", "webcam: pictures again")
    faults.clear("webcam gone", "webcam: pictures again")  # a second clear says nothing
    assert said[1:] == ["webcam: pictures again (after 5 min 0 s)"] and faults.text() == ""


def test_the_status_line_shows_the_faults_that_hold():
    import io

    out = io.StringIO()
    with ConsoleWriter(out) as writer:
        status = StatusLine(writer)
        status.conditions.set("microphone gone", "lip sync: the microphone is gone; the mouth follows tracking")
        status.show("30.0 fps | " + status.conditions.text(), 0.0)
        status.finish()
    assert "lip sync: the microphone is gone" in out.getvalue()
    assert out.getvalue().endswith("30.0 fps | microphone gone (1 time)\n")
