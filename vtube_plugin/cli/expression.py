"""`vtube-plugin expression NAME [--release]`: switch an expression in the running `vtube-plugin run`."""

from __future__ import annotations

import argparse

from vtube_plugin.expressions.control import DEFAULT_PORT
from vtube_plugin.ports import port_type


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "expression", help="switch an expression of the running `vtube-plugin run` (for scripts)",
        description="Sends one command to `vtube-plugin run` over 127.0.0.1, after the run's secret (read from "
                    "<config folder>/control-PORT.secret, which only you can read). NAME `list` shows the expressions.")
    parser.add_argument("name", metavar="NAME", help="an expression from the presets file (e.g. happy), or `list`")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--release", dest="action", action="store_const", const="release",
                        help="switch it off (it fades out)")
    action.add_argument("--toggle", dest="action", action="store_const", const="toggle",
                        help="switch it on if off, off if on")
    parser.add_argument("--control-port", type=port_type(), default=DEFAULT_PORT, metavar="PORT",
                        help=f"the port `vtube-plugin run` listens on (default {DEFAULT_PORT})")
    parser.set_defaults(run=run, action="trigger")


def run(args: argparse.Namespace) -> int:
    from vtube_plugin.expressions.control import send_command

    line = "list" if args.name == "list" else f"expression {args.name} {args.action}"
    print(send_command(line, args.control_port).removeprefix("ok ").strip())
    return 0
