"""Stand-in THA2 weights for the tests: seeded random tensors with exactly the official checkpoints' layout.

Follows the conformance data's rule (tests/data/tha2/README.md), so seed 1 reproduces the weights the test
vectors were made with; `fingerprint` lets a test confirm that before trusting any comparison.
"""

from __future__ import annotations

import hashlib
import io
import json
import lzma
import math
from collections import OrderedDict
from pathlib import Path

import torch

DATA = Path(__file__).parent / "data" / "tha2"
MANIFEST = DATA / "manifest.json"
VECTORS = DATA / "vectors_seed1_trimmed.pt.xz"
SEED = 1  # the seed the vectors were made with
# The warp-offset heads are scaled down so the random warps move pixels a little instead of scrambling them.
GRID_CHANGE_SCALE = 0.1
SEEDS_PER_RUN = 1000  # generator seed = seed * 1000 + running entry index (THA2 has 309 entries)


def _tensor(key: str, shape: list[int], generator_seed: int) -> torch.Tensor:
    noise = torch.randn(shape, generator=torch.Generator().manual_seed(generator_seed), dtype=torch.float32)
    if len(shape) >= 2:
        fan_in = math.prod(shape) // shape[0]
        scale = GRID_CHANGE_SCALE if "grid_change" in key else 1.0
        return (noise * (scale / math.sqrt(fan_in))).contiguous()
    if key.endswith(".weight"):  # InstanceNorm scale
        return (1.0 + 0.1 * noise).contiguous()
    if key.endswith(".bias"):
        return (0.1 * noise).contiguous()
    raise ValueError(f"no stand-in rule for {key} {shape}")


def state_dicts(seed: int, manifest_path: Path = MANIFEST) -> dict[str, OrderedDict]:
    """{checkpoint file name: state_dict}; one running entry index across all five files, in manifest order."""
    manifest = json.loads(Path(manifest_path).read_text())
    out, index = {}, 0
    for filename, module in manifest["modules"].items():
        state = OrderedDict()
        for entry in module["entries"]:
            if entry["dtype"] != "float32":
                raise ValueError(f"unexpected dtype {entry['dtype']} for {entry['key']}")
            state[entry["key"]] = _tensor(entry["key"], entry["shape"], seed * SEEDS_PER_RUN + index)
            index += 1
        out[filename] = state
    return out


def write_weights(seed: int, folder: Path) -> dict[str, str]:
    """Write the five .pt files into `folder` as plain state_dicts (like the official ones); -> fingerprints."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    prints = {}
    for filename, state in state_dicts(seed).items():
        torch.save(state, folder / filename)
        prints[filename] = fingerprint(state)
    return prints


def fingerprint(state: dict[str, torch.Tensor]) -> str:
    """sha256 over each entry's key, shape (as a list's text) and raw bytes, in order."""
    digest = hashlib.sha256()
    for key, tensor in state.items():
        digest.update(key.encode())
        digest.update(str(list(tensor.shape)).encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def load_vectors() -> dict:
    """The trimmed conformance vectors: the test image, two poses and the official outputs our stages return."""
    with lzma.open(VECTORS) as f:
        return torch.load(io.BytesIO(f.read()), weights_only=True)
