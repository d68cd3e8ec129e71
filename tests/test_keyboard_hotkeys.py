"""Global keyboard hotkeys through pynput on a real X server (Xvfb): key presses sent with XTest reach the
expression layer. Runs in a child process because pynput binds to the display when it is imported."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from headless_obs import free_display, start_xvfb

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("pynput") is None or shutil.which("Xvfb") is None,
    reason="needs pynput (pip install pynput) and Xvfb (apt-get install xvfb)")

CHILD = textwrap.dedent("""
    import time, tomllib
    from pynput.keyboard import Controller, Key
    from vtube_plugin.expressions.layer import ExpressionLayer, parse_presets
    from vtube_plugin.expressions.keys import start_key_input

    layer = ExpressionLayer(parse_presets(tomllib.loads('''
    [happy]
    key = "ctrl+alt+1"
    pose = { mouth_raised_corner = 1.0 }
    [peek]
    mode = "hold"
    key = "ctrl+p"
    pose = { iris_rotation_x = 0.8 }
    ''')))
    keys = start_key_input(layer, "keyboard")

    def settle(want):
        deadline = time.monotonic() + 5
        while layer.active() != want and time.monotonic() < deadline:
            time.sleep(0.02)
        return layer.active()

    typist = Controller()
    time.sleep(0.3)  # the listener's record context starts on its own thread
    with typist.pressed(Key.ctrl, Key.alt):
        typist.tap("1")
    print("chord", settle(["happy"]))
    typist.press(Key.ctrl); typist.press("p")
    print("held", settle(["happy", "peek"]))
    typist.release("p"); typist.release(Key.ctrl)
    print("let go", settle(["happy"]))
    keys.close()
""")


def test_a_key_chord_toggles_and_a_held_chord_holds(tmp_path: Path):
    display = free_display()
    xvfb = start_xvfb(display)
    try:
        env = dict(os.environ, DISPLAY=f":{display}")
        result = subprocess.run([sys.executable, "-c", CHILD], env=env, cwd=Path(__file__).parent.parent,
                                capture_output=True, text=True, timeout=60)
    finally:
        xvfb.terminate()
        xvfb.wait(timeout=10)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "expressions: keyboard hotkeys ctrl+alt+1=happy, ctrl+p=peek" in result.stderr
    assert lines == ["chord ['happy']", "held ['happy', 'peek']", "let go ['happy']"]
