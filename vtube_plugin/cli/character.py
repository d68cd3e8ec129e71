"""`vtube-plugin character fit|check`: make any picture of a character fit the network's frame, and say what
will go wrong with one (with a preview of what will move)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vtube_plugin.cli.common import add_renderer_options, renderer_from_args


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "character", help="fit any picture of your character to the network's frame, or check one",
        description="Fit a picture of your character to the 512x512 frame the network needs, or check one.",
    )
    parser.set_defaults(run=lambda args: _print_help(parser))
    actions = parser.add_subparsers(dest="character_command", metavar="ACTION")

    fit = actions.add_parser(
        "fit", help="make a 512x512 transparent picture with the head in the network's box",
        description="Take a PNG, WebP or JPEG of any size, remove a flat background, find the head and write a "
                    "512x512 RGBA picture with the head in the network's 128x128 box and the body below it.",
    )
    fit.add_argument("image", metavar="IMAGE", help="the picture of your character (PNG, WebP or JPEG)")
    fit.add_argument("-o", "--output", metavar="OUT", required=True, help="picture to write (.png or .webp)")
    fit.add_argument("--head", metavar="X,Y,W,H", type=_head_box,
                     help="where the head is in IMAGE, in its pixels (left, top, width, height; hair top to chin), "
                          "when the detection gets it wrong")
    fit.set_defaults(run=run_fit)

    check = actions.add_parser(
        "check", help="say what will go wrong with a character picture (exit 2 when something will)",
        description="Say what will go wrong with a character picture before you stream with it: no "
                    "transparency, not square, too small, the head off the box, background left, a second "
                    "figure. Exit code 0 when it is fine, 2 with the reasons when not.",
    )
    check.add_argument("image", metavar="IMAGE", help="the character picture")
    check.add_argument("--preview", metavar="OUT.png",
                       help="also render the character in a few poses (eyes closed, mouth open, head turned, a "
                            "smile) into one picture")
    add_renderer_options(check)
    check.set_defaults(run=run_check)


def _print_help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _head_box(text: str) -> tuple[float, float, float, float]:
    parts = text.replace(" ", "").split(",")
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) != 4:
        raise argparse.ArgumentTypeError(f"{text!r}: give four numbers X,Y,W,H, e.g. --head 400,120,300,320")
    return values


def _output(path: str) -> Path:
    from vtube_plugin.errors import UserError

    out = Path(path).expanduser()
    if out.suffix.lower() not in (".png", ".webp"):
        raise UserError(f"cannot write {out.name}: the picture must end in .png or .webp (to keep transparency)")
    if not out.parent.is_dir():
        raise UserError(f"cannot write {out}: the folder {out.parent} does not exist")
    return out


def _save(image, out: Path) -> None:
    options = {"lossless": True} if out.suffix.lower() == ".webp" else {}
    image.save(out, **options)


def run_fit(args: argparse.Namespace) -> int:
    from PIL import Image

    from vtube_plugin.character.check import framing_findings
    from vtube_plugin.character.fit import fit_character

    out = _output(args.output)
    result = fit_character(args.image, head=args.head)
    for line in result.summary():
        print(line)
    _save(Image.fromarray(result.image, "RGBA"), out)
    print(f"wrote {out}")
    for finding in framing_findings(result.image):
        print(f"note: {finding.message}")
    return 0


def run_check(args: argparse.Namespace) -> int:
    from vtube_plugin.character.check import check_character

    out = _output(args.preview) if args.preview else None
    findings = check_character(args.image)
    for finding in findings:
        print(f"problem: {finding.message}")
    if not findings:
        print(f"{args.image}: fine: square, transparent, the head in the network's box")
    if out is not None:
        _write_preview(args, out)
    return 2 if findings else 0


def _write_preview(args: argparse.Namespace, out: Path) -> None:
    from vtube_plugin.character.load import load_character
    from vtube_plugin.character.preview import preview

    renderer = renderer_from_args(args)
    rgba = load_character(args.image, renderer.size)  # a picture the network cannot take is said here
    _save(preview(renderer, rgba, progress=sys.stderr), out)
    print(f"wrote {out}")
