"""Options shared by every command that renders: which model, its weights, the device and precision."""

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
    group.add_argument("--precision", choices=["fp32", "fp16", "bf16"], default="fp32",
                       help="fp32 everywhere; fp16 on CUDA; bf16 autocast on CPU (default: fp32)")


def render_settings_from_args(args: argparse.Namespace):
    from vtube_plugin.render.settings import RenderSettings

    return RenderSettings(model=args.model, weights=args.weights, device=args.device, precision=args.precision)


def renderer_from_args(args: argparse.Namespace):
    """The Renderer the options describe (imports torch)."""
    return render_settings_from_args(args).load()
