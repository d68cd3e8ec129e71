"""`vtube-plugin demo`: the sample character through a built-in few-second performance, to a video file."""

from __future__ import annotations

import argparse
from pathlib import Path

from vtube_plugin.cli.common import add_renderer_options, renderer_from_args


def add_parser(sub) -> None:
    p = sub.add_parser("demo", help="render the sample character talking, blinking, smiling and turning (no camera)",
                       description="Render a few seconds of the built-in performance to MP4 or WebM.")
    p.add_argument("-o", "--output", default="demo.mp4", help="video file to write, .mp4 or .webm (default: demo.mp4)")
    p.add_argument("--character", metavar="IMG", default=None,
                   help="character image (default: the sample character from `models fetch`)")
    p.add_argument("--fps", type=float, default=20.0, help="frames per second (default: 20)")
    p.add_argument("--background", default="#d8e4f0", help="background colour, e.g. #00ff00 (default: #d8e4f0)")
    add_renderer_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from vtube_plugin.character import load_character_or_sample
    from vtube_plugin.errors import UserError
    from vtube_plugin.motion.demo import performance
    from vtube_plugin.sinks.background import parse_colour
    from vtube_plugin.sinks.compose import Background
    from vtube_plugin.sinks.video import VideoWriter

    if args.fps <= 0 or args.fps > 120:
        raise UserError(f"--fps {args.fps:g} is out of range: give 1..120")
    background = Background(parse_colour(args.background))  # a colour only, as --help says
    renderer = renderer_from_args(args)
    renderer.set_character(load_character_or_sample(args.character, renderer.size))
    poses = performance(args.fps)
    with VideoWriter(Path(args.output), fps=args.fps, background=background) as video:
        for pose in tqdm(poses, desc="rendering demo", unit="frame"):
            video.write(renderer.render(pose))
    print(f"wrote {args.output} ({len(poses)} frames, {len(poses) / args.fps:.1f} s)")
    return 0
