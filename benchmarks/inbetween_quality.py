"""How close in-between frames come to the truth: for each motion, two real renders a step apart, the frame
`--smooth interpolate` makes half-way between them and the frame `--smooth extrapolate` makes half a step past
the newer one, each against a true render of the pose it stands for (PSNR on RGB premultiplied by alpha, plus
alpha), beside simply holding the render before it. Quality only, no timing: run it on any machine.

    python benchmarks/inbetween_quality.py   (from the checkout, after the README's test command)
"""

from __future__ import annotations

import numpy as np

from vtube_plugin.character import load_character_or_sample
from vtube_plugin.live.inbetween import FlowPair
from vtube_plugin.pose import Pose
from vtube_plugin.render import Renderer
from vtube_plugin.render.quality import premultiplied_psnr

# Each motion: the pose values at 0, 1/2, 1 and 3/2 of a render step (a steady motion on one clock).
MOTIONS = {
    "head turn (head_y 0 -> 0.25)": lambda t: {"head_y": 0.25 * t},
    "big head turn (head_y -0.2 -> 0.3)": lambda t: {"head_y": -0.2 + 0.5 * t},
    "nod (head_x 0 -> 0.3)": lambda t: {"head_x": 0.3 * t},
    "nod and mouth": lambda t: {"head_x": 0.3 * t, "mouth_aaa": 0.6 * t},
    "mouth 0 -> 0.6": lambda t: {"mouth_aaa": 0.6 * t},
    "blink (0 -> 0.4 shut)": lambda t: {"eye_wink_left": 0.4 * t, "eye_wink_right": 0.4 * t},
}


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    def scaled(rgba):
        return rgba.transpose(2, 0, 1)[None].astype(np.float64) / 127.5 - 1.0

    return premultiplied_psnr(scaled(a), scaled(b))


def main() -> None:
    renderer = Renderer.load(engine="openvino", precision="fp32")
    renderer.set_character(load_character_or_sample(None, renderer.size))
    print("dB against a true render of the pose each frame stands for (openvino fp32 renders of the sample)")
    print(f"{'motion between two renders':36s} {'hold':>6s} {'interpolate':>12s} {'hold':>6s} {'extrapolate':>12s}")
    print(f"{'':36s} {'(t=1/2)':>6s} {'(t=1/2)':>12s} {'(t=3/2)':>6s} {'(t=3/2)':>12s}")
    for name, at in MOTIONS.items():
        older, middle, newer, beyond = (renderer.render(Pose().replace(**at(t))) for t in (0.0, 0.5, 1.0, 1.5))
        pair = FlowPair(older, newer)
        print(f"{name:36s} {psnr(older, middle):6.1f} {psnr(pair.between(0.5), middle):12.1f} "
              f"{psnr(newer, beyond):6.1f} {psnr(pair.ahead(0.5), beyond):12.1f}")


if __name__ == "__main__":
    main()
