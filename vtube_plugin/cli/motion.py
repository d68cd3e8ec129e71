"""`vtube-plugin motion DANCE.vmd -o OUT.mp4`: transfers an MMD motion (mouth shapes, blinks, brows,
head and neck turns) onto the character and renders a video, or exports the pose track."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vtube_plugin.cli.render_track import add_video_options, open_video, render_from_args
from vtube_plugin.errors import UserError


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "motion",
        help="animate the character with an MMD motion (.vmd) and render a video",
        description="Animate the character with a MikuMikuDance motion (.vmd): its morphs (あいうえお, "
                    "blinks, winks, brows) and head, neck and eye bones drive the pose through a profile. "
                    "See docs/motion.md.",
    )
    parser.add_argument("motion", metavar="MOTION.vmd", type=Path, help="the MMD motion file")
    parser.add_argument("--profile", default="vmd",
                        help="how MMD names map onto the pose: a motion profile's name (bundled, or your own in "
                             "<config>/profiles) or a .toml file (default: vmd)")
    parser.add_argument("--poses-out", metavar="FILE.jsonl", type=Path, default=None,
                        help="write the pose track (one JSON line a frame) to edit or render later with "
                             "`render-track`; without -o nothing is rendered")
    add_video_options(parser, output_required=False)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from vtube_plugin.motion.profile import load_profile
    from vtube_plugin.motion.vmd import read_vmd

    if args.output is None and args.poses_out is None:
        raise UserError("say where to put the result: -o OUT.mp4 renders a video, --poses-out FILE.jsonl "
                        "writes the pose track")
    writer = open_video(args) if args.output is not None else None
    profile = load_profile(args.profile)
    motion = read_vmd(args.motion)
    if not motion.bones and not motion.morphs:
        raise UserError(f"{args.motion} has no bone or morph keyframes (is it a camera motion?); "
                        "give a motion made for a character")
    if not profile.drives(motion):
        raise UserError(f"nothing in {args.motion} moves the character with the profile {profile.name}: "
                        "none of its morph or bone names are in the profile. Map them in a copy of the profile "
                        "(see docs/motion.md)")
    unknown = profile.unknown_morphs(motion)
    if unknown:
        print(f"warning: {args.motion.name} has morphs the profile {Path(profile.name).name} does not map; "
              f"they are ignored: {', '.join(unknown)}", file=sys.stderr)

    track = profile.track(motion, args.fps)
    if args.poses_out is not None:
        track.write_jsonl(args.poses_out)
        print(f"wrote {args.poses_out}: {len(track)} poses, {track.duration:.2f} s at {args.fps:g} fps")
    if writer is not None:
        render_from_args(args, track, writer)
    return 0
