"""One strict loader for every checkpoint file, with messages that say which file and what was expected.

Only `torch.load(weights_only=True)`: a checkpoint is data, never code.
"""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import torch
from torch import nn

from vtube_plugin.errors import UserError


def load_checkpoint(module: nn.Module, path: Path, *, how_to_get: str) -> None:
    """Load `path` into `module` strictly. `how_to_get` finishes every error message (where users get the file)."""
    path = Path(path)
    network = f"the {type(module).__name__} network"
    if not path.is_file():
        where = "" if path.parent.is_dir() else f" (the folder {path.parent} does not exist)"
        raise UserError(f"weights file missing: {path}{where}; it should hold the weights of {network}. {how_to_get}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"Unsupported global: GLOBAL (\S+)", str(exc))
        if found:
            raise UserError(f"{path} holds Python objects besides tensors ({found.group(1)}); only plain "
                            f"state_dicts are loaded, because unpickling objects can run code. Expected the weights "
                            f"of {network}. {how_to_get}") from None
        raise UserError(_unreadable(path, exc, network, how_to_get)) from None
    # Garbage makes the unpickler fail in many ways (KeyError, IndexError, ...): all mean "not a checkpoint".
    except Exception as exc:  # noqa: BLE001
        raise UserError(_unreadable(path, exc, network, how_to_get)) from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise UserError(f"{path} does not hold a state_dict (a table of named tensors) for {network}. {how_to_get}")

    expected = module.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"{len(missing)} expected key(s) missing, e.g. {', '.join(missing[:3])}")
        if unexpected:
            parts.append(f"{len(unexpected)} unknown key(s), e.g. {', '.join(unexpected[:3])}")
        raise UserError(f"{path} does not match {network}: {'; '.join(parts)}. "
                        f"Is it the right file for this stage? {how_to_get}")
    for key, tensor in expected.items():
        if tuple(state[key].shape) != tuple(tensor.shape):
            raise UserError(f"{path}: '{key}' has shape {tuple(state[key].shape)}, expected {tuple(tensor.shape)}. "
                            f"Is it the right file for this stage? {how_to_get}")
    module.load_state_dict(state, strict=True)


def _unreadable(path: Path, exc: Exception, network: str, how_to_get: str) -> str:
    text = str(exc).strip()
    # torch's words help for a broken archive; the unpickler's (a bare KeyError, or advice to load unsafely) do not.
    readable = isinstance(exc, (RuntimeError, OSError, EOFError, ValueError)) and text
    detail = f" ({text.splitlines()[0].split('. ')[0][:160]})" if readable else ""
    return (f"{path} is not a readable PyTorch checkpoint: truncated (an interrupted download?) or a different "
            f"kind of file{detail}. Expected the weights of {network}. {how_to_get}")
