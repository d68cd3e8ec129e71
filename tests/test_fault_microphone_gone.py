"""The microphone goes away while `--lip-sync mic` listens and comes back: a real PulseAudio device (a null sink
whose monitor is the microphone, on a PulseAudio server of the test's own: tests/pulse_sink.py) unloaded with
pactl and loaded again, with real speech playing into it. Each time it is said once, the mouth falls back to
tracking, and lip sync resumes by itself.
"""

from __future__ import annotations

import io
import subprocess
import threading
import time

from pulse_sink import load_null_sink, private_pulse, unload_module
from speech import SENTENCE, speak

from vtube_plugin.audio.lip_sync import LipSyncSettings
from vtube_plugin.audio.vowels import VOWELS
from vtube_plugin.expressions.lip_sync import LipSyncLayer
from vtube_plugin.pose import Pose

TIMES = 3  # PulseAudio takes about 2 s to start a reopened recording: three times keep the test short
TRACKED = Pose().replace(mouth_aaa=0.3)


def mouth(pose: Pose) -> list[float]:
    return [pose[f"mouth_{v}"] for v in VOWELS]


def voiced(layer: LipSyncLayer) -> bool:
    return max(abs(a - b) for a, b in zip(mouth(layer.apply(TRACKED, time.monotonic())), mouth(TRACKED))) > 0.1


def tracked(layer: LipSyncLayer) -> bool:
    return mouth(layer.apply(TRACKED, time.monotonic())) == mouth(TRACKED)


def wait(condition, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def test_the_microphone_unplugged_and_plugged_back_in(tmp_path, monkeypatch):
    with private_pulse(tmp_path) as server:
        unplug_and_plug_back_in(server, tmp_path, monkeypatch)


def unplug_and_plug_back_in(server: str, tmp_path, monkeypatch) -> None:
    name = "headset"
    module = load_null_sink(name, server)
    monkeypatch.setenv("PULSE_SERVER", server)  # PortAudio's ALSA default device is PulseAudio: this one
    monkeypatch.setenv("PULSE_SOURCE", f"{name}.monitor")
    voice = speak(tmp_path / "hello.wav", SENTENCE, pad=(0.0, 0.0))
    stop = threading.Event()

    def talk():  # the streamer talks all along; while the device is gone, the player fails and tries again
        while not stop.is_set():
            player = subprocess.Popen(["paplay", f"--server={server}", f"--device={name}", str(voice)],
                                      stderr=subprocess.DEVNULL)
            while player.poll() is None and not stop.wait(0.05):
                pass
            if player.poll() is None:
                player.terminate()
            player.wait(timeout=10)
            stop.wait(0.1)

    talker = threading.Thread(target=talk, daemon=True)
    said = io.StringIO()
    layer = LipSyncLayer(LipSyncSettings(input="mic", mode="auto"), messages=said)
    talker.start()
    try:
        mic = layer.input
        assert mic is not None, said.getvalue()
        mic.retry_after = 0.1
        layer.apply(TRACKED, time.monotonic())
        wait(lambda: voiced(layer), "the voice to drive the mouth")
        for _ in range(TIMES):
            unload_module(module, server)
            wait(lambda: tracked(layer), "the tracked mouth")  # within STALE_AFTER of the last sound
            wait(lambda: mic.away_since is not None, "the microphone to count as gone")
            assert "no sound from the mic" in layer.status() or tracked(layer)
            module = load_null_sink(name, server)
            wait(lambda: mic.away_since is None, "the microphone to come back")  # sound flows from it again
        wait(lambda: voiced(layer), "the voice to drive the mouth again")  # and it is the voice's
    finally:
        stop.set()
        talker.join(timeout=20)
        layer.close()
    lines = said.getvalue().splitlines()
    gone = [line for line in lines if line.startswith("lip sync: no sound from the mic")]
    back = [line for line in lines if line.startswith("lip sync: the mic") and " is back after " in line]
    assert len(gone) == TIMES and len(back) == TIMES, lines
    assert "the mouth follows tracking until it is back" in gone[0]
    assert mic.outages == TIMES
