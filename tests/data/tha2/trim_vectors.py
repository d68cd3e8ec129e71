"""How vectors_seed1_trimmed.pt.xz was made from the full conformance file (kept for provenance; not run by tests).

Keeps only the tensors the tests compare or feed to a stage, all float32 as stored:
    python tests/data/tha2/trim_vectors.py /work/shared/tha2/vectors_seed1.pt \
        tests/data/tha2/vectors_seed1_trimmed.pt.xz
"""

import io
import lzma
import sys

import torch

# Case 0 (mouth only): just the final image, for the whole-chain check. Case 1 (every group moved): every
# output that one of our stages returns, so each stage can be fed the official inputs and checked on its own.
KEEP = (("combiner.0",),
        ("eyebrow_morphing_combiner.2", "face_morpher.0", "face_rotator.0", "face_rotator.1", "combiner.0"))
SHARED = ("eyebrow_decomposer.0", "eyebrow_decomposer.3")  # the decomposer reads the image only


def main(source: str, dest: str) -> None:
    full = torch.load(source, weights_only=True)
    trimmed = {
        "format": "tha2-conformance-vectors/1, trimmed",
        "weights_seed": full["weights_seed"],
        "weights_sha256": {name: f["sha256"] for name, f in full["weights_fingerprint"].items()},
        "image": full["image"].contiguous(),
        "decomposer_outputs": {key: full["cases"][0]["outputs"][key].contiguous() for key in SHARED},
        "cases": [{"description": case["description"], "pose": case["pose"].contiguous(),
                   "outputs": {key: case["outputs"][key].contiguous() for key in keys}}
                  for case, keys in zip(full["cases"], KEEP)],
    }
    for case in full["cases"]:
        assert torch.equal(case["final_image"], case["outputs"]["combiner.0"])
    buffer = io.BytesIO()
    torch.save(trimmed, buffer)
    with open(dest, "wb") as f:
        f.write(lzma.compress(buffer.getvalue(), preset=9 | lzma.PRESET_EXTREME))


if __name__ == "__main__":
    main(*sys.argv[1:3])
