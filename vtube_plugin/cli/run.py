"""`vtube-plugin run`: stream the character live, driven by a face tracker, to a virtual camera, a window or a file."""

from __future__ import annotations

import argparse
import sys

from vtube_plugin.cli.common import add_renderer_options, load_character_for, renderer_from_args
from vtube_plugin.cli.expression_options import add_expression_options, expression_layer_from_args
from vtube_plugin.cli.tracking import add_source_options, profile_from_args, source_from_args
from vtube_plugin.errors import UserError


def add_parser(subparsers) -> None:
    from vtube_plugin.sinks.choose import OUTPUT_HELP

    p = subparsers.add_parser(
        "run",
        help="stream the character live from a face tracker",
        description="Stream the character live: tracking -> profile -> pose -> renderer -> virtual camera, preview "
                    "window or video file. Ctrl+C stops. Type c + Enter to calibrate your neutral face.",
    )
    p.add_argument("--character", metavar="IMG", default=None,
                   help="the character picture, 512x512 RGBA (default: the sample character from `models fetch`)")
    add_source_options(p)
    out = p.add_argument_group("output")
    out.add_argument("--output", action="append", metavar="OUT", default=None,
                     help=f"{OUTPUT_HELP} (default: virtualcam)")
    out.add_argument("--size", metavar="WxH", default=None,
                     help="output size; the square frame is letterboxed into it (default: the renderer's, 512x512)")
    out.add_argument("--fps", type=float, default=30.0, help="output frame rate (default: 30)")
    out.add_argument("--background", default="#00ff00",
                     help="what shows through transparent pixels: a colour (#00ff00 chroma-key green by default; "
                          "r,g,b; or a name: lime, blue, magenta, black...) or an image file")
    out.add_argument("--pixel-format", choices=["rgb", "bgr"], default="rgb",
                     help="virtual camera pixel format (default: rgb)")
    out.add_argument("--virtualcam-device", default=None,
                     help="which virtual camera, e.g. /dev/video4 (default: the first one found)")
    live = p.add_argument_group("live")
    live.add_argument("--record-poses", metavar="FILE.jsonl", default=None,
                      help="write one JSON line per rendered frame: time and the 45 pose values")
    live.add_argument("--max-frames", type=int, default=None, help="stop after this many frames")
    live.add_argument("--lost-after", type=float, default=0.75,
                      help="seconds without tracking data before the pose eases back to neutral (default: 0.75)")
    live.add_argument("--no-calibration", action="store_true", help="ignore the stored neutral-face calibration")
    add_expression_options(p)
    add_renderer_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from vtube_plugin.calibration import load_calibration, save_calibration
    from vtube_plugin.control import execute
    from vtube_plugin.live.console import ConsoleCommands
    from vtube_plugin.live.loop import LiveLoop
    from vtube_plugin.mapper import Mapper
    from vtube_plugin.sinks.choose import make_sink, parse_output
    from vtube_plugin.sinks.compose import parse_background, parse_size

    # Everything the user typed is checked before the slow renderer load.
    if args.fps <= 0 or args.fps > 240:
        raise UserError(f"--fps must be between 0 and 240, got {args.fps:g}")
    if args.max_frames is not None and args.max_frames < 1:
        raise UserError(f"--max-frames must be at least 1, got {args.max_frames}")
    if args.lost_after <= 0:
        raise UserError(f"--lost-after must be more than 0 seconds, got {args.lost_after:g}")
    profile = profile_from_args(args)
    background = parse_background(args.background)
    size = parse_size(args.size) if args.size else None
    outputs = args.output or ["virtualcam"]
    for spec in outputs:
        parse_output(spec)
    renderer = renderer_from_args(args)
    renderer.set_character(load_character_for(args.character, renderer.size))
    size = size or (renderer.size, renderer.size)
    sinks = [make_sink(spec, size=size, fps=args.fps, background=background,
                       pixel_format=args.pixel_format.upper(), device=args.virtualcam_device) for spec in outputs]

    calibration = None if args.no_calibration else load_calibration(args.source, profile.name)
    mapper = Mapper(profile, calibration)

    def saved(cal) -> str:
        return str(save_calibration(cal, args.source, profile.name))

    # Expression presets over the tracking: OBS hotkeys, `vtube-plugin expression`, keys, or names typed here.
    layer = expression_layer_from_args(args, console=False)

    def typed(line: str) -> None:
        print(execute(layer, line, default_action="press"), file=sys.stderr, flush=True)

    try:
        loop = LiveLoop(
            source=source_from_args(args),
            mapper=mapper,
            renderer=renderer,
            sinks=sinks,
            fps=args.fps,
            lost_after=args.lost_after,
            expressions=layer,
            record_poses=args.record_poses,
            max_frames=args.max_frames,
            on_calibrated=saved,
            console=ConsoleCommands(other=typed),
        )
        print(f"profile {profile.name}" + (" (calibrated)" if calibration else " (not calibrated: type c + Enter)")
              + f"; output {', '.join(outputs)} at {size[0]}x{size[1]}, {args.fps:g} fps", file=sys.stderr)
        summary = loop.run()
    finally:
        layer.close()
    print(f"stopped ({summary.stopped_by}) after {summary.frames} frames, {summary.fps:.1f} fps on average",
          file=sys.stderr)
    return 0
