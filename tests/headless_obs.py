"""A real OBS Studio for tests: Xvfb plus `obs` with a temporary HOME, its websocket on a free port.

Seeded as /work/shared/docs/obs-headless.md describes (websocket 5.1.0 settings in global.ini, a Cut
transition so scene events come at once). Stopped by the PIDs it started, never by name.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def free_display() -> int:
    for n in range(90, 400):
        if not Path(f"/tmp/.X{n}-lock").exists() and not Path(f"/tmp/.X11-unix/X{n}").exists():
            return n
    raise RuntimeError("no free X display number between :90 and :399")


def start_xvfb(display: int) -> subprocess.Popen:
    """Xvfb on :display, returned once its socket exists."""
    xvfb = subprocess.Popen(["Xvfb", f":{display}", "-screen", "0", "1280x720x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not Path(f"/tmp/.X11-unix/X{display}").exists():
        if xvfb.poll() is not None or time.monotonic() > deadline:
            xvfb.kill()
            raise RuntimeError(f"Xvfb :{display} did not start")
        time.sleep(0.05)
    return xvfb


class HeadlessObs:
    """`start()`, `stop()` (clean: saves the scene collection), `kill()` (SIGKILL, as a crash), `close()`."""

    def __init__(self, root: Path, password: str, port: int | None = None):
        self.root = root
        self.password = password
        self.port = port or free_port()
        self.home = root / "home"
        self.display = free_display()
        self.xvfb: subprocess.Popen | None = None
        self.obs: subprocess.Popen | None = None
        self._seed()

    def _seed(self) -> None:
        config = self.home / ".config" / "obs-studio"
        (config / "basic" / "profiles" / "Test").mkdir(parents=True, exist_ok=True)
        (config / "basic" / "scenes").mkdir(parents=True, exist_ok=True)
        (self.root / "recordings").mkdir(exist_ok=True)
        (self.root / "runtime").mkdir(mode=0o700, exist_ok=True)
        (config / "global.ini").write_text(
            "[General]\nFirstRun=true\nConfirmOnExit=false\nEnableAutoUpdates=false\nPre19Defaults=false\n"
            "Pre21Defaults=false\nPre23Defaults=false\nPre24.1Defaults=false\n\n"
            "[Basic]\nProfile=Test\nProfileDir=Test\nSceneCollection=Test\nSceneCollectionFile=Test\n\n"
            "[BasicWindow]\nSysTrayEnabled=false\n\n"
            f"[OBSWebSocket]\nFirstLoad=false\nServerEnabled=true\nServerPort={self.port}\nAlertsEnabled=false\n"
            f"AuthRequired=true\nServerPassword={self.password}\n"
        )
        (config / "basic" / "profiles" / "Test" / "basic.ini").write_text(
            "[General]\nName=Test\n\n[Video]\nBaseCX=640\nBaseCY=360\nOutputCX=640\nOutputCY=360\nFPSType=1\n"
            "FPSInt=10\n\n[Output]\nMode=Simple\n\n"
            f"[SimpleOutput]\nFilePath={self.root / 'recordings'}\n"
        )
        scene = {"id": 1, "name": "Main", "uuid": "00000000-0000-4000-8000-000000000001", "versioned_id": "scene",
                 "settings": {"id_counter": 0, "items": []}, "flags": 0, "enabled": True, "mixers": 0,
                 "volume": 1.0, "muted": False, "sync": 0, "monitoring_type": 0, "hotkeys": {},
                 "private_settings": {}, "deinterlace_mode": 0, "deinterlace_field_order": 0,
                 "prev_ver": 486539267, "push-to-mute": False, "push-to-talk": False}
        (config / "basic" / "scenes" / "Test.json").write_text(json.dumps({
            "name": "Test", "current_scene": "Main", "current_program_scene": "Main",
            "scene_order": [{"name": "Main"}], "sources": [scene], "groups": [],
            "current_transition": "Cut", "transition_duration": 300, "transitions": [],
            "modules": {}, "preview_locked": False, "scaling_enabled": False, "scaling_level": 0,
            "scaling_off_x": 0.0, "scaling_off_y": 0.0, "quick_transitions": [], "saved_projectors": [],
            "DesktopAudioDevice1": {}, "AuxAudioDevice1": {},
        }))

    def start(self, timeout: float = 30.0) -> None:
        if port_open(self.port):
            raise RuntimeError(f"port {self.port} is already taken: refusing to start OBS on it")
        if self.xvfb is None or self.xvfb.poll() is not None:
            self.xvfb = start_xvfb(self.display)
        # Importing cv2 (the webcam tests do) points QT_QPA_PLATFORM_PLUGIN_PATH at OpenCV's own Qt plugins,
        # which crash OBS's Qt: OBS must see the system's.
        env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM_PLUGIN_PATH", "QT_PLUGIN_PATH")}
        env.update(HOME=str(self.home), DISPLAY=f":{self.display}", LIBGL_ALWAYS_SOFTWARE="1",
                   XDG_RUNTIME_DIR=str(self.root / "runtime"), QT_QPA_PLATFORM="xcb")
        self.log = open(self.root / "obs-output.log", "ab")
        self.obs = subprocess.Popen(
            ["obs", "--multi", "--disable-updater", "--disable-missing-files-check",
             "--profile", "Test", "--collection", "Test"],
            env=env, cwd=self.root, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while not port_open(self.port):
            if self.obs.poll() is not None:
                raise RuntimeError(f"OBS exited with {self.obs.returncode}; see {self.root / 'obs-output.log'}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"OBS did not open port {self.port} within {timeout:g} s")
            time.sleep(0.05)

    def stop(self) -> None:
        """A clean shutdown (SIGINT): OBS saves the scene collection."""
        if self.obs is not None and self.obs.poll() is None:
            self.obs.send_signal(signal.SIGINT)
            try:
                self.obs.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.obs.kill()
                self.obs.wait()
        self.obs = None

    def kill(self) -> None:
        """A crash: nothing saved, the websocket drops at once."""
        if self.obs is not None:
            self.obs.kill()
            self.obs.wait()
        self.obs = None

    def close(self) -> None:
        self.stop()
        if self.xvfb is not None and self.xvfb.poll() is None:
            self.xvfb.terminate()
            self.xvfb.wait(timeout=10)
        self.xvfb = None

    @staticmethod
    def installed() -> bool:
        return shutil.which("obs") is not None and shutil.which("Xvfb") is not None
