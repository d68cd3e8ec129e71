"""`vtube-plugin render-track POSES.jsonl -o OUT.mp4`: renders a pose track (from `motion --poses-out`,
edited or written by hand) into a video; also the video options `motion` shares."""

from __future__ import annotations

import argparse
from pathlib import Path

from vtube_plugin.cli.common import add_renderer_options, renderer_from_args


def _fps(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"frames a second must be a number above 0, not {text!r}")
    return value


def add_video_options(parser: argparse.ArgumentParser, output_required: bool) -> None:
    group = parser.add_argument_group("video")
    group.add_argument("-o", "--output", metavar="OUT.mp4", type=Path, required=output_required,
                       help="the video to write: .mp4 or .webm (it appears only once complete)")
    group.add_argument("--character", metavar="IMG", default=None,
                       help="the character picture, RGBA PNG (default: the sample character)")
    group.add_argument("--audio", metavar="FILE", type=Path, default=None,
                       help="a sound file (WAV, MP3, ...) to put in the video, such as the song the motion dances "
                            "to; it is cut where the video ends")
    group.add_argument("--fps", type=_fps, default=30.0, help="frames a second of the video (default: 30, as MMD)")
    group.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_renderer_options(parser)


def open_video(args: argparse.Namespace):
    """The VideoWriter the options describe. Made before the model loads, so a wrong file name, folder
    or sound file is reported at once; the file itself is only created by the first frame."""
    from vtube_plugin.sinks.video import VideoWriter

    return VideoWriter(args.output, fps=args.fps, audio=args.audio)


def render_from_args(args: argparse.Namespace, track, writer) -> None:
    """Loads the renderer and the character the options name and renders `track` into `writer`."""
    from vtube_plugin.character import load_character_or_sample
    from vtube_plugin.motion.render import render_video

    renderer = renderer_from_args(args)
    character = load_character_or_sample(args.character, renderer.size)
    frames = render_video(track, renderer, character, writer, progress=not args.no_progress)
    print(f"wrote {args.output}: {frames} frames, {frames / args.fps:.2f} s at {args.fps:g} fps")


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "render-track",
        help="render a pose track (JSON lines) into a video",
        description="Render a pose track into a video. Each line of the track is "
                    '{"time": seconds, "<parameter>": value, ...}; between lines the pose moves linearly, '
                    "so a few hand-written lines work as keyframes.",
    )
    parser.add_argument("track", metavar="POSES.jsonl", type=Path, help="the pose track")
    add_video_options(parser, output_required=True)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from vtube_plugin.motion.pose_track import PoseTrack

    writer = open_video(args)
    track = PoseTrack.read_jsonl(args.track)
    render_from_args(args, track, writer)
    return 0
