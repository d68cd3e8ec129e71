"""Fixtures shared across test files."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Iterator

import pytest

import tha2_weights


@pytest.fixture(scope="session")
def tha2_weights_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder with the five THA2 checkpoint files, holding the stand-in weights the test vectors were made with
    (163M parameters, 650 MB: written once per test session, removed after it rather than kept by pytest)."""
    folder = tmp_path_factory.mktemp("tha2_weights")
    tha2_weights.write_weights(tha2_weights.SEED, folder)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)
