"""Time THA2 and THA3 side by side on this machine: loading, and one posed frame (fp32, no autograd).

    python -m benchmarks.tha2_vs_tha3 --tha2-weights DIR [--tha3-weights DIR] [--frames 10] [--threads N]

A frame is what the renderer does per pose: every stage but the decomposer, whose result it caches per
character. Frames of the two models alternate, so a busy machine slows both alike; medians are printed, of
wall time and of CPU time (all threads), which a machine shared with other work disturbs less.
The stand-in weights of tests/tha2_weights.py time the same as the real ones (same shapes, same ops).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

from vtube_plugin.nn.tha2.network import THA2
from vtube_plugin.nn.tha3.network import THA3


def frame(net, decomposed, image: torch.Tensor, pose: torch.Tensor) -> torch.Tensor:
    face = net.morph_face(image, net.morph_eyebrows(decomposed, pose), pose)
    return net.edit(face, net.rotate(face, pose), pose)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tha2-weights", type=Path, required=True)
    parser.add_argument("--tha3-weights", type=Path, default=None, help="default: the cache's THA3 folder")
    parser.add_argument("--frames", type=int, default=10)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.tha3_weights is None:
        from vtube_plugin.models.store import tha3_weights_dir
        args.tha3_weights = tha3_weights_dir()

    nets, runs = {}, {}
    for name, cls, folder in (("THA2", THA2, args.tha2_weights), ("THA3", THA3, args.tha3_weights)):
        start = time.perf_counter()
        nets[name] = cls.from_dir(folder)
        params = sum(p.numel() for p in nets[name].parameters())
        print(f"{name}: {params / 1e6:.1f}M parameters, loaded in {time.perf_counter() - start:.1f} s")
    generator = torch.Generator().manual_seed(0)
    with torch.inference_mode():
        for name, net in nets.items():
            image = torch.rand(1, 4, net.image_size, net.image_size, generator=generator) * 2 - 1
            pose = torch.rand(1, net.pose_size, generator=generator)
            start = time.perf_counter()
            decomposed = net.decompose(image)
            first = frame(net, decomposed, image, pose)  # warms up too
            runs[name] = dict(image=image, pose=pose, decomposed=decomposed, times=[], cpu=[],
                              first=time.perf_counter() - start)
            assert first.shape == image.shape
        for _ in range(args.frames):
            for name, net in nets.items():
                run = runs[name]
                start, start_cpu = time.perf_counter(), time.process_time()
                frame(net, run["decomposed"], run["image"], run["pose"])
                run["times"].append(time.perf_counter() - start)
                run["cpu"].append(time.process_time() - start_cpu)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, fp32, CPU")
    for name, run in runs.items():
        median = statistics.median(run["times"])
        size = nets[name].image_size
        print(f"{name} {size}x{size}: first frame (with decomposer) {run['first']:.2f} s; "
              f"then per frame median {median:.2f} s ({1 / median:.2f} fps), "
              f"min {min(run['times']):.2f} s over {len(run['times'])} frames; "
              f"CPU time per frame median {statistics.median(run['cpu']):.2f} s")


if __name__ == "__main__":
    main()
