"""`vtube-plugin render IMAGE --pose POSE -o OUT.png`: one posed picture."""

from __future__ import annotations

import argparse
from pathlib import Path

from vtube_plugin.cli.common import add_renderer_options, renderer_from_args


def add_parser(sub) -> None:
    p = sub.add_parser("render", help="pose a character image once and save the picture",
                       description="Pose a character once. POSE is a JSON/TOML file or name=value pairs, "
                                   "e.g. --pose mouth_aaa=1 head_y=-0.5 (unset parameters are 0).")
    p.add_argument("image", nargs="?", metavar="IMAGE", help="character PNG/WebP with a transparent background")
    p.add_argument("--pose", nargs="+", metavar="POSE", default=[], help="pose file, or name=value pairs")
    p.add_argument("-o", "--output", metavar="OUT", help="picture to write (.png or .webp)")
    p.add_argument("--list-parameters", action="store_true", help="list every pose parameter with its range and exit")
    add_renderer_options(p)
    p.set_defaults(run=run)


def list_parameters() -> None:
    from vtube_plugin.pose import PARAMETERS

    group = None
    for param in PARAMETERS:
        if param.group != group:
            group = param.group
            print(f"\n[{group}]")
        print(f"  {param.name:30s} {param.minimum:g}..{param.maximum:g}")


def run(args: argparse.Namespace) -> int:
    from PIL import Image

    from vtube_plugin.character import load_character_or_sample
    from vtube_plugin.errors import UserError
    from vtube_plugin.pose import Pose

    if args.list_parameters:
        list_parameters()
        return 0
    if not args.image or not args.output:
        raise UserError("give a character image and -o OUT.png, e.g. "
                        "vtube-plugin render character.png --pose mouth_aaa=1 -o posed.png")
    out = Path(args.output)
    if out.suffix.lower() not in (".png", ".webp"):
        raise UserError(f"cannot write {out.name}: the picture must end in .png or .webp (to keep transparency)")
    if not out.parent.expanduser().is_dir():
        raise UserError(f"cannot write {out}: the folder {out.parent} does not exist")
    pose = Pose.parse(args.pose) if args.pose else Pose()
    renderer = renderer_from_args(args, tuning="cached")  # one frame: never waits for the plan to be measured
    renderer.set_character(load_character_or_sample(args.image, renderer.size))
    frame = renderer.render(pose)
    options = {"lossless": True} if out.suffix.lower() == ".webp" else {}
    Image.fromarray(frame, "RGBA").save(out.expanduser(), **options)
    print(f"wrote {out}")
    return 0
