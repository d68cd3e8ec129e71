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


def renderer_from_args(args: argparse.Namespace):
    """The Renderer the options describe (imports torch)."""
    from vtube_plugin.render import Renderer

    return Renderer.load(model=args.model, weights_dir=args.weights, device=args.device, precision=args.precision)


def load_character_for(path: str | None, size: int):
    """The user's character image, or the fetched sample character when none is given, at `size`."""
    from vtube_plugin.character import load_character
    from vtube_plugin.models.store import sample_character

    return load_character(path if path else sample_character(), size)
