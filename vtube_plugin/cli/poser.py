"""`vtube-plugin poser`: a local web page with a slider for every pose parameter and a live preview.

Save PNG writes the rendered frame and its pose (JSON) to --save-dir; the pose loads back with "load pose".
"""

from __future__ import annotations

import argparse
from pathlib import Path

from vtube_plugin.cli.common import add_renderer_options
from vtube_plugin.errors import UserError
from vtube_plugin.ports import port_type


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "poser",
        help="pose a character with sliders in the browser and save images",
        description="Serve a local page (127.0.0.1 only) with a slider for each of the 45 pose parameters, "
                    "a live preview rendered by the network, character picker and upload, expression presets, "
                    "and 'save PNG' (the image and its pose as JSON, written to --save-dir).",
    )
    parser.add_argument("--character", metavar="IMG", default=None,
                        help="the character to start with: a 512x512 PNG/WebP with a transparent background "
                             "(default: the sample character crypko_00.png from `vtube-plugin models fetch`)")
    parser.add_argument("--port", type=port_type(zero="picks a free one"), default=0,
                        help="port to listen on (default: any free port)")
    parser.add_argument("--save-dir", metavar="DIR", default=".",
                        help="folder 'save PNG' writes to (default: the current folder)")
    parser.add_argument("--no-browser", action="store_true", help="print the URL but do not open a browser")
    add_renderer_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from vtube_plugin.cli.common import renderer_from_args
    from vtube_plugin.models import store
    from vtube_plugin.models.store import DEFAULT_CHARACTER
    from vtube_plugin.poser.characters import CharacterShelf
    from vtube_plugin.poser.preview import PreviewWorker
    from vtube_plugin.poser.server import PoserApp, PoserServer

    save_dir = Path(args.save_dir).expanduser().resolve()
    if save_dir.exists() and not save_dir.is_dir():
        raise UserError(f"--save-dir {save_dir} is a file, not a folder")
    extra = Path(args.character).expanduser() if args.character else None
    if extra is not None:
        from vtube_plugin.character import load_users_character
        from vtube_plugin.render.renderer import CHARACTER_SIZE

        # A picture we cannot use is said now, not after the slow model load; a badly framed one is warned of.
        load_users_character(extra, CHARACTER_SIZE)

    renderer = renderer_from_args(args)
    shelf = CharacterShelf(renderer.size, store.sample_images_dir(), extra)
    names = shelf.names()
    if not names:
        raise UserError("no character to pose: pass --character IMG, or run `vtube-plugin models fetch` "
                        "once to get the sample characters")
    default = extra.name if extra else (DEFAULT_CHARACTER if DEFAULT_CHARACTER in names else names[0])

    worker = PreviewWorker(renderer, shelf.image)
    app = PoserApp(worker, shelf, model=args.model, save_dir=save_dir, default_character=default)
    with PoserServer(app, port=args.port) as server:
        print(f"poser: {server.url}  (saving to {save_dir}; Ctrl+C to stop)", flush=True)
        if not args.no_browser:
            import webbrowser

            if not webbrowser.open(server.url):
                print("poser: no browser found; open the address above yourself", flush=True)
        import threading

        threading.Event().wait()  # serve until Ctrl+C (main() turns KeyboardInterrupt into exit 130)
    return 0
