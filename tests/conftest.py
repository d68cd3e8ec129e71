"""Fixtures shared across test files."""

from __future__ import annotations

from pathlib import Path

import pytest

import tha2_weights


@pytest.fixture(scope="session")
def tha2_weights_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the five THA2 checkpoint files, holding the stand-in weights the test vectors were made with
    (163M parameters, 640 MB: written once per test session)."""
    folder = tmp_path_factory.mktemp("tha2_weights")
    tha2_weights.write_weights(tha2_weights.SEED, folder)
    return folder
