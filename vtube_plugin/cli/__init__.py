"""The `vtube-plugin` command: one small module per subcommand, listed in COMMANDS.

Each module has `add_parser(subparsers)` that registers its options and sets `run(args) -> int`.
Heavy imports (torch, av) happen inside `run`, so `--help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from vtube_plugin import __version__
from vtube_plugin.errors import UserError

# Module names under vtube_plugin.cli, in the order `--help` lists them.
COMMANDS = ["studio", "run", "demo", "render", "character", "poser", "motion", "render_track", "expression", "obs",
            "calibrate", "models", "bench"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vtube-plugin",
        description="Stream as an anime character drawn in a single picture.",
    )
    parser.add_argument("--version", action="version", version=f"vtube-plugin {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"vtube_plugin.cli.{name}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    try:
        return int(args.run(args) or 0)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("stopped.", file=sys.stderr)
        return 130
