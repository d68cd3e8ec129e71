"""One strict loader for every checkpoint file, with messages that say which file and what was expected.

Only `torch.load(weights_only=True)`: a checkpoint is data, never code.
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import torch
from torch import nn

from vtube_plugin.errors import UserError


def load_checkpoint(module: nn.Module, path: Path, *, how_to_get: str) -> None:
    """Load `path` into `module` strictly. `how_to_get` finishes every error message (where users get the file)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"weights file missing: {path}. {how_to_get}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, zipfile.BadZipFile, RuntimeError, EOFError, ValueError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"{path} is not a readable PyTorch checkpoint (truncated or a different kind of file: "
                        f"{first[:200]}). {how_to_get}") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise UserError(f"{path} does not hold a state_dict (a table of named tensors). {how_to_get}")

    expected = module.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"{len(missing)} expected key(s) missing, e.g. {', '.join(missing[:3])}")
        if unexpected:
            parts.append(f"{len(unexpected)} unknown key(s), e.g. {', '.join(unexpected[:3])}")
        raise UserError(f"{path} does not match the {type(module).__name__} network: {'; '.join(parts)}. "
                        f"Is it the right file for this stage? {how_to_get}")
    for key, tensor in expected.items():
        if tuple(state[key].shape) != tuple(tensor.shape):
            raise UserError(f"{path}: '{key}' has shape {tuple(state[key].shape)}, expected {tuple(tensor.shape)}. "
                            f"Is it the right file for this stage? {how_to_get}")
    module.load_state_dict(state, strict=True)
