"""A real capture device for the lip sync tests: a PulseAudio null sink whose `.monitor` source records what
`paplay --device=SINK` plays into it. PortAudio's ALSA `default` device is PulseAudio, and `PULSE_SOURCE`
makes the monitor its microphone. The server is started if none runs; without one the tests skip, saying why.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def null_sink():
    """The sink's name; `f"{name}.monitor"` is the source that hears it."""
    for program in ("pulseaudio", "pactl", "paplay"):
        if shutil.which(program) is None:
            pytest.skip(f"{program} not installed: tests/install-system-packages.sh installs PulseAudio")
    if subprocess.run(["pactl", "info"], capture_output=True, timeout=10).returncode != 0:
        # As root PulseAudio warns but runs as a per-user daemon (no --system needed); it exits by itself a
        # minute after the last client is gone, so nothing is left running after the tests.
        subprocess.run(["pulseaudio", "--start", "--exit-idle-time=60"], capture_output=True, timeout=30)
        if subprocess.run(["pactl", "info"], capture_output=True, timeout=10).returncode != 0:
            pytest.skip("no PulseAudio server could be started here (pulseaudio --start failed)")
        if "sounddevice" in sys.modules:  # PortAudio lists devices once, when it starts: list them again
            sounddevice = sys.modules["sounddevice"]
            sounddevice._terminate()
            sounddevice._initialize()
    name = f"vtube_lip_sync_test_{os.getpid()}"
    module = load_null_sink(name)
    try:
        yield name
    finally:
        unload_module(module)


def load_null_sink(name: str, server: str | None = None) -> str:
    """A null sink called `name` (a microphone plugged in, for whoever records its monitor); its module id."""
    return subprocess.run(["pactl", *(["-s", server] if server else []), "load-module", "module-null-sink",
                           f"sink_name={name}"], capture_output=True, text=True, timeout=10, check=True).stdout.strip()


def unload_module(module: str, server: str | None = None) -> None:
    """The sink gone (the microphone unplugged)."""
    subprocess.run(["pactl", *(["-s", server] if server else []), "unload-module", module], capture_output=True,
                   timeout=10)


def client_env() -> dict[str, str]:
    """What a subprocess with its own XDG_CONFIG_HOME (tests/live_process.py) needs to reach this server:
    libpulse finds the server and its cookie through the config folder otherwise."""
    info = subprocess.run(["pactl", "info"], capture_output=True, text=True, timeout=10, check=True).stdout
    server = next(line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("Server String:"))
    env = {"PULSE_SERVER": f"unix:{server}" if server.startswith("/") else server}
    cookie = Path(os.environ.get("XDG_CONFIG_HOME", "~/.config")).expanduser() / "pulse" / "cookie"
    if cookie.is_file():
        env["PULSE_COOKIE"] = str(cookie)
    return env


@contextmanager
def private_pulse(folder: Path) -> Iterator[str]:
    """A PulseAudio server of the test's own (its socket in `folder`, nothing loaded but what the test loads):
    unloading a sink there leaves no other microphone for PulseAudio to move the recording to, as unplugging
    the only headset does. Yields the server address for PULSE_SERVER and `pactl -s`."""
    for program in ("pulseaudio", "pactl", "paplay"):
        if shutil.which(program) is None:
            pytest.skip(f"{program} not installed: tests/install-system-packages.sh installs PulseAudio")
    socket = folder / "native"
    env = dict(os.environ, XDG_RUNTIME_DIR=str(folder), HOME=str(folder))
    with open(folder / "pulseaudio.log", "wb") as log:
        server = subprocess.Popen(["pulseaudio", "--daemonize=no", "-n", "--use-pid-file=no", "--exit-idle-time=-1",
                                   f"--load=module-native-protocol-unix socket={socket} auth-anonymous=1"],
                                  env=env, stdout=log, stderr=subprocess.STDOUT)
    address = f"unix:{socket}"
    try:
        deadline = time.monotonic() + 20
        while subprocess.run(["pactl", "-s", address, "info"], capture_output=True, timeout=10).returncode != 0:
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"a private PulseAudio server did not start: {(folder / 'pulseaudio.log').read_text()}")
            time.sleep(0.1)
        yield address
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
