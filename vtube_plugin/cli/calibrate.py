"""`vtube-plugin calibrate`: capture your neutral face once, so every later `run` subtracts it."""

from __future__ import annotations

import argparse
import time

from vtube_plugin.cli.tracking import add_source_options, profile_from_args, source_from_args, waiting_hint
from vtube_plugin.errors import UserError
from vtube_plugin.sources import SOURCES, source_class


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "calibrate",
        help="capture your neutral face for a tracking source",
        description="Capture your neutral face (relaxed, looking straight at the screen) as the average of a few "
                    "frames and store it for this source and profile; `run` subtracts it from then on.",
    )
    add_source_options(p, default=None)
    p.add_argument("--frames", type=int, default=60, help="frames to average (default: 60)")
    p.add_argument("--delay", type=float, default=2.0, help="seconds to settle before capturing (default: 2)")
    p.add_argument("--timeout", type=float, default=15.0, help="give up after this many seconds without enough frames")
    p.add_argument("--reset", action="store_true", help="forget the stored calibration instead")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from vtube_plugin.mapping.calibration import NeutralCapture, calibration_path, forget_calibration, save_calibration

    profile = profile_from_args(args)
    if args.reset:
        removed = forget_calibration(args.source, profile.name)
        path = calibration_path(args.source, profile.name)
        print(("forgot " if removed else "there was no calibration at ") + str(path))
        return 0
    if args.frames < 1:
        raise UserError(f"--frames must be at least 1, got {args.frames}")
    if not source_class(args.source).TRACKS:
        trackers = ", ".join(name for name in SOURCES if source_class(name).TRACKS)
        raise UserError(f"--source {args.source} has nothing to calibrate; pick {trackers}")
    capture = NeutralCapture(args.frames)
    with source_from_args(args) as source:
        print(f"Relax your face and look straight at the screen. Capturing {args.frames} frames from {args.source}...")
        time.sleep(max(args.delay, 0.0))
        deadline = time.monotonic() + args.timeout
        calibration = None
        while calibration is None:
            if time.monotonic() > deadline:
                got = len(capture.frames)
                raise UserError(f"only {got} of {args.frames} frames from the {args.source} source in "
                                f"{args.timeout:g} s: {waiting_hint(args)}")
            calibration = capture.add(source.latest())
            time.sleep(0.005)
        hint = None if args.profile else source.profile_hint()
    if hint is not None and hint != profile.name:  # stored where `run` will look once the sender's names choose
        from vtube_plugin.mapping.live_mapper import SEEN

        print(f"{SEEN.get(hint, hint)} seen: stored for the {hint} profile")
        profile = profile_from_args(argparse.Namespace(**{**vars(args), "profile": hint}))
    path = save_calibration(calibration, args.source, profile.name)
    strongest = sorted(calibration.blendshapes.items(), key=lambda kv: -kv[1])[:4]
    print(f"saved to {path}")
    if calibration.head is not None:
        print("neutral head (pitch, yaw, roll): " + ", ".join(f"{v:.1f}°" for v in calibration.head))
    if strongest:
        print("strongest at rest: " + ", ".join(f"{k} {v:.2f}" for k, v in strongest))
    return 0
