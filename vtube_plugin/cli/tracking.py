"""Options shared by the commands that read a tracker (`run`, `calibrate`): the source, its address, the profile."""

from __future__ import annotations

import argparse

from vtube_plugin.errors import UserError
from vtube_plugin.sources import SOURCES, make_source, parse_source
from vtube_plugin.sources.ifacialmocap import PORT as IFACIALMOCAP_PORT
from vtube_plugin.sources.vmc import DEFAULT_PORT as VMC_PORT

NAMES = (*SOURCES, "none")

# --source name -> the bundled profile that fits the names it sends
DEFAULT_PROFILES = {"webcam": "arkit", "vmc": "vrm", "ifacialmocap": "arkit", "none": "arkit"}

WAITING_HINTS = {
    "vmc": "is the tracker app (VSeeFace, VMagicMirror, Waidayo...) sending VMC to this computer, port {port}?",
    "ifacialmocap": "is iFacialMocap open on the phone at {phone_ip}, on the same network, with no firewall blocking UDP {port}?",
    "webcam": "is your face in view of camera {camera}, with enough light?",
    "none": "--source none never tracks.",
}


class _SourceAction(argparse.Action):
    """`--source vmc:port=39540` -> args.source = "vmc", args.source_options = {"port": 39540}, checked while
    parsing so a wrong option is reported before anything slow starts."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        name, _, rest = str(values).partition(":")
        name = name.strip().lower()
        if name not in NAMES:
            parser.error(f"argument --source: invalid choice: '{name}' (choose from {', '.join(NAMES)})")
        options: dict = {}
        if rest.strip():
            if name == "none":
                parser.error("argument --source: none takes no options")
            try:
                _, options = parse_source(f"{name}:{rest}")
            except UserError as err:
                parser.error(f"argument --source: {err}")
        namespace.source, namespace.source_options = name, options


def add_source_options(parser: argparse.ArgumentParser, default: str | None = "webcam") -> None:
    group = parser.add_argument_group("tracking")
    group.add_argument("--source", action=_SourceAction, metavar="NAME[:OPTIONS]", default=default,
                       required=default is None,
                       help=f"where face tracking comes from: {', '.join(NAMES)}"
                            + (f" (default: {default})" if default else "")
                            + "; a source's own options may follow a colon, e.g. vmc:port=39540 or "
                              "webcam:device=1,width=1280 (see docs/input-*.md)")
    parser.set_defaults(source_options={})
    group.add_argument("--profile", metavar="NAME|PATH", default=None,
                       help="how tracking drives the pose: a bundled profile (arkit, vrm), one of yours, or a .toml "
                            "path (default: arkit; vrm for --source vmc)")
    group.add_argument("--host", default=None, help="vmc: address to listen on (default: all, 0.0.0.0)")
    group.add_argument("--port", type=int, default=None,
                       help=f"vmc: UDP port (default {VMC_PORT}); ifacialmocap: {IFACIALMOCAP_PORT}")
    group.add_argument("--phone-ip", default=None, help="ifacialmocap: the phone's IP address (shown in the app)")
    group.add_argument("--camera", type=int, default=None, help="webcam: camera number (default 0)")
    group.add_argument("--landmarker", metavar="FILE", default=None,
                       help="webcam: MediaPipe face_landmarker.task (default: the one `models fetch` stored)")
    group.add_argument("--mirror", action="store_true", default=None,
                       help="webcam: mirror the image, so the character moves like your reflection")


def _options(args: argparse.Namespace) -> dict:
    """The source's options: the flags that were given, then those after `--source NAME:` (which win)."""
    flags = {
        "vmc": {"host": args.host, "port": args.port},
        "ifacialmocap": {"phone": args.phone_ip, "port": args.port},
        "webcam": {"device": args.camera, "landmarker": args.landmarker, "mirror": args.mirror},
    }[args.source]
    # Options left unset keep the source's own defaults.
    return {**{k: v for k, v in flags.items() if v is not None}, **args.source_options}


def source_from_args(args: argparse.Namespace):
    """The (not yet started) source the options name; only its own options are passed to it."""
    if args.source == "none":
        from vtube_plugin.live.no_source import NoSource

        return NoSource()
    return make_source(args.source, _options(args))


def profile_from_args(args: argparse.Namespace):
    from vtube_plugin.profile import load_profile

    return load_profile(args.profile or DEFAULT_PROFILES[args.source])


def waiting_hint(args: argparse.Namespace) -> str:
    options = _options(args) if args.source != "none" else {}
    default_port = IFACIALMOCAP_PORT if args.source == "ifacialmocap" else VMC_PORT
    return WAITING_HINTS[args.source].format(port=options.get("port", default_port),
                                             phone_ip=options.get("phone", "?"), camera=options.get("device", 0))
