"""Options for expressions and OBS that `run` and `obs setup` share.

The command line fills `live.expression_inputs.ExpressionSettings`, which `run` starts (`start_expressions`);
`expression_layer_from_args(args)` starts the layer those settings describe.
"""

from __future__ import annotations

import argparse

from vtube_plugin.expressions.control import DEFAULT_PORT
from vtube_plugin.ports import port_type


def add_obs_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("OBS (obs-websocket 5)")
    group.add_argument("--obs-host", metavar="HOST", default=None,
                       help="where OBS runs (default: $OBS_HOST, obs.toml, else localhost)")
    group.add_argument("--obs-port", metavar="PORT", default=None, type=port_type(),
                       help="OBS Tools > WebSocket Server Settings > Server Port "
                            "(default: $OBS_PORT, obs.toml, else 4455)")
    password = group.add_mutually_exclusive_group()
    password.add_argument("--obs-password", metavar="PASSWORD", default=None,
                          help="the websocket password. Careful: every user of this PC can read it in the process "
                               "list (ps); better --obs-password-file, $OBS_PASSWORD or password in obs.toml")
    password.add_argument("--obs-password-file", metavar="FILE", default=None,
                          help="a file whose first line is the websocket password (default: $OBS_PASSWORD_FILE)")
    group.add_argument("--obs-config", metavar="FILE", default=None,
                       help="OBS settings file (default: <user config>/vtube-plugin/obs.toml)")


def add_presets_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--expressions", metavar="FILE", default=None,
                        help="expression presets (default: <user config>/vtube-plugin/expressions.toml if it "
                             "exists, else the shipped profiles/expressions.toml)")


def add_expression_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("expressions")
    add_presets_option(group)
    group.add_argument("--obs", action="store_true",
                       help="connect to OBS: its hotkeys and custom events switch expressions (docs/obs.md)")
    group.add_argument("--control-port", type=port_type(zero="turns it off"), default=DEFAULT_PORT, metavar="PORT",
                       help=f"127.0.0.1 port for `vtube-plugin expression NAME` (default {DEFAULT_PORT}; 0: off)")
    group.add_argument("--keys", choices=["auto", "keyboard", "console", "off"], default="auto",
                       help="expression hotkeys: global keyboard keys (pynput), typed console lines, or off "
                            "(default auto: keyboard where pynput works, else console in a terminal)")
    add_obs_options(parser)


def obs_options_from_args(args: argparse.Namespace):
    from vtube_plugin.obs.settings import ObsOptions

    return ObsOptions(host=args.obs_host, port=args.obs_port, password=args.obs_password, config=args.obs_config,
                      password_file=args.obs_password_file)


def obs_settings_from_args(args: argparse.Namespace):
    return obs_options_from_args(args).resolve()


def expression_settings_from_args(args: argparse.Namespace):
    from vtube_plugin.live.expression_inputs import ExpressionSettings

    return ExpressionSettings(presets=args.expressions, control_port=args.control_port, keys=args.keys, obs=args.obs,
                              obs_options=obs_options_from_args(args))


def expression_layer_from_args(args: argparse.Namespace):
    """The ExpressionLayer the options describe, its inputs started (live.expression_inputs.start_expressions)."""
    from vtube_plugin.live.expression_inputs import start_expressions

    return start_expressions(expression_settings_from_args(args))
