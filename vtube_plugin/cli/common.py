"""Options shared by every command that renders: which model, its weights, the device, the engine and precision."""

from __future__ import annotations

import argparse


def add_renderer_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("renderer")
    group.add_argument("--model", choices=["tha3", "tha2"], default="tha3",
                       help="network to pose the character with (default: tha3)")
    group.add_argument("--weights", metavar="DIR", default=None,
                       help="folder with the model's .pt files (default: the cache `vtube-plugin models fetch` fills; "
                            "required for tha2)")
    group.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default: cpu)")
    group.add_argument("--engine", choices=["auto", "torch", "openvino", "openvino-gpu", "onnxruntime"], default="auto",
                       help="what runs the network: auto picks OpenVINO on a CPU and torch on CUDA, among what is "
                            "installed, and says why; openvino-gpu runs it on an Intel GPU (integrated or Arc) "
                            "(default: auto; docs/engines.md)")
    group.add_argument("--precision", choices=["auto", "fp32", "fp16", "bf16"], default="auto",
                       help="auto: per stage, the precision measured fastest on this machine that stays >= 45 dB "
                            "(measured once on the first start, then read from the cache; fp16 on CUDA); fp32: "
                            "accurate everywhere; bf16 (CPU); fp16 (CUDA) (default: auto)")


def render_settings_from_args(args: argparse.Namespace, tuning: str = "auto"):
    """tuning "cached": a one-frame command does not wait for the plan to be measured (render/tuning.py)."""
    from vtube_plugin.render.settings import RenderSettings

    return RenderSettings(model=args.model, weights=args.weights, device=args.device, precision=args.precision,
                          engine=args.engine, tuning=tuning)


def renderer_from_args(args: argparse.Namespace, tuning: str = "auto"):
    """The Renderer the options describe (imports torch)."""
    return render_settings_from_args(args, tuning).load()
