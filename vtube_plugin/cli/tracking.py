"""Options shared by the commands that read a tracker (`run`, `calibrate`): the source, its address, the profile."""

from __future__ import annotations

import argparse

from vtube_plugin.errors import UserError
from vtube_plugin.sources import SOURCES, source_class

# --source name -> the bundled profile that fits the names it sends
DEFAULT_PROFILES = {"webcam": "arkit", "vmc": "vrm", "ifacialmocap": "arkit", "none": "arkit"}

WAITING_HINTS = {
    "vmc": "is the tracker app (VSeeFace, VMagicMirror, Waidayo...) sending VMC to this computer, port {port}?",
    "ifacialmocap": "is iFacialMocap open on the phone at {phone_ip}, on the same network, with no firewall blocking UDP 49983?",
    "webcam": "is your face in view of camera {camera}, with enough light?",
    "none": "--source none never tracks.",
}


def add_source_options(parser: argparse.ArgumentParser, default: str | None = "webcam") -> None:
    group = parser.add_argument_group("tracking")
    group.add_argument("--source", choices=[*SOURCES, "none"], default=default, required=default is None,
                       help="where face tracking comes from" + (f" (default: {default})" if default else ""))
    group.add_argument("--profile", metavar="NAME|PATH", default=None,
                       help="how tracking drives the pose: a bundled profile (arkit, vrm), one of yours, or a .toml "
                            "path (default: arkit; vrm for --source vmc)")
    group.add_argument("--host", default=None, help="vmc: address to listen on (default: all, 0.0.0.0)")
    group.add_argument("--port", type=int, default=None, help="vmc: UDP port (default 39539); ifacialmocap: 49983")
    group.add_argument("--phone-ip", default=None, help="ifacialmocap: the phone's IP address (shown in the app)")
    group.add_argument("--camera", type=int, default=None, help="webcam: camera number (default 0)")
    group.add_argument("--landmarker", metavar="FILE", default=None,
                       help="webcam: MediaPipe face_landmarker.task (default: the one `models fetch` stored)")
    group.add_argument("--mirror", action="store_true", default=None,
                       help="webcam: mirror the image, so the character moves like your reflection")


def source_from_args(args: argparse.Namespace):
    """The (not yet started) source the options name; only its own options are passed to it."""
    if args.source == "none":
        from vtube_plugin.live.no_source import NoSource

        return NoSource()
    options = {
        "vmc": {"host": args.host, "port": args.port},
        "ifacialmocap": {"phone": args.phone_ip, "port": args.port},
        "webcam": {"device": args.camera, "landmarker": args.landmarker, "mirror": args.mirror},
    }[args.source]
    try:  # options left unset keep the source's own defaults
        return source_class(args.source)(**{k: v for k, v in options.items() if v is not None})
    except ValueError as err:
        raise UserError(f"{args.source}: {err}") from None


def profile_from_args(args: argparse.Namespace):
    from vtube_plugin.profile import load_profile

    return load_profile(args.profile or DEFAULT_PROFILES[args.source])


def waiting_hint(args: argparse.Namespace) -> str:
    return WAITING_HINTS[args.source].format(port=args.port or 39539, phone_ip=args.phone_ip or "?",
                                             camera=args.camera or 0)
