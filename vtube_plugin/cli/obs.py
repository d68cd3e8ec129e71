"""`vtube-plugin obs setup`: create the hideable items OBS hotkeys toggle, one per expression, and with
--browser-source the Browser Source that shows `run --output browser`."""

from __future__ import annotations

import argparse

from vtube_plugin.cli.expression_options import add_obs_options, add_presets_option, obs_settings_from_args
from vtube_plugin.errors import UserError


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("obs", help="connect expressions to OBS Studio (docs/obs.md)",
                                   description="Work with OBS Studio over obs-websocket 5.")
    actions = parser.add_subparsers(dest="obs_action", metavar="ACTION", required=True)
    setup = actions.add_parser(
        "setup", help="create a scene with one hidden item per expression for OBS's hotkeys",
        description="Creates the scene 'vtube-plugin expressions' with one hidden item 'expression: NAME' per "
                    "expression. Bind them in OBS: File > Settings > Hotkeys > Show/Hide 'expression: NAME'. "
                    "Safe to run again: only missing items are created.")
    add_presets_option(setup)
    from vtube_plugin.obs.browser_source import DEFAULT_URL

    setup.add_argument("--browser-source", nargs="?", const=DEFAULT_URL, default=None, metavar="URL",
                       help="also add a Browser Source showing `run --output browser` to the current scene "
                            f"(URL default {DEFAULT_URL}; for a render PC on the LAN, the URL with ?token= that "
                            "run printed); left alone if it exists")
    setup.add_argument("--size", default="512x512", metavar="WxH",
                       help="the Browser Source's width and height (default 512x512, the character's frame; "
                            "use run's --size if you gave one)")
    add_obs_options(setup)
    setup.set_defaults(run=run_setup)


def run_setup(args: argparse.Namespace) -> int:
    from vtube_plugin.expressions.layer import load_presets
    from vtube_plugin.obs import SCENE, open_requests, setup_expressions
    from vtube_plugin.obs.browser_source import setup_browser_source
    from vtube_plugin.obs.connection import describe_failure, is_request_failure
    from vtube_plugin.sinks.compose import parse_size

    presets = load_presets(args.expressions)
    size = parse_size(args.size)
    settings = obs_settings_from_args(args)
    requests = open_requests(settings)
    try:
        # The Browser Source first: an OBS without one is told so before anything is created.
        lines = setup_browser_source(requests, args.browser_source, size) if args.browser_source else []
        for line in lines + setup_expressions(requests, presets):
            print(line)
    except UserError:
        raise
    except Exception as exc:  # noqa: BLE001 - OBS closing or refusing mid-setup is news for the user, not a traceback
        if is_request_failure(exc):
            raise UserError(f"OBS refused part of the setup ({exc}); what it created so far stays in OBS, and running "
                            "`vtube-plugin obs setup` again finishes the rest") from None
        raise describe_failure(exc, settings) from None
    finally:
        requests.disconnect()
    print(f"done: in OBS, bind keys under File > Settings > Hotkeys > '{SCENE}' (Show/Hide 'expression: NAME')")
    return 0
