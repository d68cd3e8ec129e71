"""`vtube-plugin studio`: go live and run everything from one local page (also an OBS dock): the preview, the
status, tracking, expressions, idle life and lip sync, the character and the outputs, all changed live.

The session starts from the settings saved by the last studio (the user's config folder); the page and the OBS
Browser Source feed share one port: http://127.0.0.1:41456/studio and http://127.0.0.1:41456/.
"""

from __future__ import annotations

import argparse

from vtube_plugin.cli.common import add_renderer_options
from vtube_plugin.errors import UserError
from vtube_plugin.ports import port_type

STUDIO_PATH = "/studio"


def add_parser(subparsers) -> None:
    from vtube_plugin.live.smooth_modes import DEFAULT as SMOOTH_DEFAULT
    from vtube_plugin.live.smooth_modes import MODES as SMOOTH_MODES
    from vtube_plugin.sinks.browser import DEFAULT_PORT

    parser = subparsers.add_parser(
        "studio",
        help="go live and control everything from one page in the browser or an OBS dock (start here)",
        description="Starts the live session from your saved settings and serves the studio page at "
                    f"http://127.0.0.1:{DEFAULT_PORT}{STUDIO_PATH} (this PC only): preview, status, tracking, "
                    "expressions, idle life, lip sync, character and outputs, each changed live and saved for the "
                    f"next start. OBS's Browser Source shows the character at http://127.0.0.1:{DEFAULT_PORT}/ on "
                    "the same port. docs/obs.md shows how to add the page as an OBS dock.")
    parser.add_argument("--port", type=port_type(zero="picks a free one"), default=DEFAULT_PORT,
                        help=f"port of the studio page and the Browser Source feed (default: {DEFAULT_PORT}, the URL "
                             "OBS already has if you used `run --output browser`)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on: 127.0.0.1 (this PC only, the default) or 0.0.0.0 (the LAN too: "
                             "every URL then needs the ?token= printed at the start)")
    parser.add_argument("--fps", type=float, default=30.0, help="output frame rate (default: 30)")
    parser.add_argument("--smooth", choices=list(SMOOTH_MODES), default=SMOOTH_DEFAULT,
                        help="while the renderer is slower than --fps, the frames between two renders, as for `run` "
                             f"(default: {SMOOTH_DEFAULT}; docs/streaming.md)")
    parser.add_argument("--no-browser", action="store_true", help="print the URL but do not open a browser")
    add_renderer_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from vtube_plugin.live.console_writer import ConsoleWriter

    # As for `run`: everything the session prints to stderr goes through one writer that never makes it wait for a
    # console that does not read (the URLs below go to stdout, before and after the session starts).
    with ConsoleWriter(sys.stderr) as writer, writer.redirected():
        return _run(args, writer)


def _run(args: argparse.Namespace, writer) -> int:
    import threading

    from vtube_plugin.cli.common import render_settings_from_args
    from vtube_plugin.live.commands import start_session
    from vtube_plugin.live.session import LiveConfig
    from vtube_plugin.models import store
    from vtube_plugin.render.renderer import CHARACTER_SIZE
    from vtube_plugin.sinks.browser import BrowserSink, is_loopback, lan_token
    from vtube_plugin.sinks.choose import output_options
    from vtube_plugin.web.server import shared
    from vtube_plugin.web.studio import Studio, add_studio

    output_options("browser", f"host={args.host}")  # the same address check as --output browser:host=
    token = None if is_loopback(args.host) else lan_token()
    server = shared(args.host, args.port, lan_token=token, name="studio")
    try:
        server.start()  # now: a taken port is said before the slow model load
    except OSError as exc:
        raise UserError(f"studio cannot listen on {args.host}:{args.port} ({exc.strerror or exc}); is another "
                        "`vtube-plugin studio` or `run --output browser` using it? Pick another with --port N"
                        ) from None
    size = (CHARACTER_SIZE, CHARACTER_SIZE)
    where = server.url.rstrip("/")
    lan = f"?token={token}" if token else ""
    feed_url = f"{where}/{lan}"
    studio = Studio(None, browser_source_url=feed_url, size=size, samples=store.sample_images_dir())
    add_studio(server, studio)
    page_url = f"{where}{STUDIO_PATH}{lan}"
    try:
        print(f"studio: {page_url}  (loading the model; Ctrl+C to stop)", flush=True)
        if not args.no_browser:
            import webbrowser

            if not webbrowser.open(page_url):
                print("studio: no browser found; open the address above yourself", flush=True)
        feed = BrowserSink(size, port=server.port, host=args.host, token=token)  # joins the studio's server
        base = LiveConfig(outputs=(), fps=args.fps, render=render_settings_from_args(args), smooth=args.smooth)
        commands, stop = start_session(sinks=[feed], base=base, console_writer=writer)
        studio.commands = commands
        stopped = threading.Event()
        commands.subscribe(lambda event: stopped.set() if event["type"] == "stopped" else None)
        print(f"studio: live; the page is {page_url}, OBS's Browser Source {feed_url}", flush=True)
        try:
            while not stopped.wait(0.5):
                pass
        finally:
            stop()  # Ctrl+C (KeyboardInterrupt here) or the page's stop: the session ends, the recording is closed
    finally:
        server.close()
    return 0
