"""Options shared by the commands that read a tracker (`run`, `calibrate`): the source, its address, the profile.

Nothing here names a tracker: the sources registered in `vtube_plugin.sources` declare their default
profile, their waiting hint and which shared flags (--port, --phone-ip, ...) feed which of their options.
"""

from __future__ import annotations

import argparse
import inspect
from collections import Counter

from vtube_plugin.errors import UserError
from vtube_plugin.sources import DEFAULT_SOURCE, SOURCES, make_source, parse_source, source_class


class _SourceAction(argparse.Action):
    """`--source NAME:key=value,...` -> args.source = NAME, args.source_options = {key: value}, checked while
    parsing so a wrong option is reported before anything slow starts."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        name, _, rest = str(values).partition(":")
        name = name.strip().lower()
        if name not in SOURCES:
            parser.error(f"argument --source: invalid choice: '{name}' (choose from {', '.join(SOURCES)})")
        options: dict = {}
        if rest.strip():
            if not source_class(name).OPTIONS:
                parser.error(f"argument --source: {name} takes no options")
            try:
                _, options = parse_source(f"{name}:{rest}")
            except UserError as err:
                parser.error(f"argument --source: {err}")
        namespace.source, namespace.source_options = name, options


def _shared_flags() -> dict[str, list[tuple[str, str, type]]]:
    """flag dest -> [(source, help, value type)] for every flag a registered source reads."""
    flags: dict[str, list[tuple[str, str, type]]] = {}
    for name in SOURCES:
        cls = source_class(name)
        for dest, (option, text) in cls.FLAGS.items():
            flags.setdefault(dest, []).append((name, text, cls.OPTIONS[option]))
    return flags


def _examples() -> str:
    """`NAME:option=default, ...`: each registered source's first option with its default value."""
    examples = []
    for name in SOURCES:
        defaults = inspect.signature(source_class(name)).parameters
        for option in source_class(name).OPTIONS:
            default = defaults[option].default if option in defaults else None
            if default not in (None, inspect.Parameter.empty):
                examples.append(f"{name}:{option}={default}")
                break
    return ", ".join(examples)


def add_source_options(parser: argparse.ArgumentParser, default: str | None = DEFAULT_SOURCE) -> None:
    group = parser.add_argument_group("tracking")
    group.add_argument("--source", action=_SourceAction, metavar="NAME[:OPTIONS]", default=default,
                       required=default is None,
                       help=f"where face tracking comes from: {', '.join(SOURCES)}"
                            + (f" (default: {default})" if default else "")
                            + f"; a source's own options may follow a colon, e.g. {_examples()} "
                              "(see docs/input-*.md)")
    parser.set_defaults(source_options={})
    defaults = Counter(source_class(n).DEFAULT_PROFILE for n in SOURCES)
    usual = defaults.most_common(1)[0][0]
    by_source = "; ".join(f"{source_class(n).DEFAULT_PROFILE} for --source {n}" for n in SOURCES
                          if source_class(n).DEFAULT_PROFILE != usual)
    group.add_argument("--profile", metavar="NAME|PATH", default=None,
                       help=f"how tracking drives the pose: a bundled profile ({', '.join(sorted(defaults))}), one of "
                            f"yours, or a .toml path (default: {usual}" + (f"; {by_source}" if by_source else "") + ")")
    for dest, users in _shared_flags().items():
        text = "; ".join(f"{source}: {help_text}" for source, help_text, _ in users)
        kind = users[0][2]
        flag = "--" + dest.replace("_", "-")
        if kind is bool:
            group.add_argument(flag, dest=dest, action="store_true", default=None, help=text)
        else:
            group.add_argument(flag, dest=dest, type=kind, default=None, help=text)


def source_options(args: argparse.Namespace) -> dict:
    """The source's options: the flags that were given, then those after `--source NAME:` (which win)."""
    flags = {option: getattr(args, dest, None) for dest, (option, _) in source_class(args.source).FLAGS.items()}
    # Options left unset keep the source's own defaults.
    return {**{k: v for k, v in flags.items() if v is not None}, **args.source_options}


def source_from_args(args: argparse.Namespace):
    """The (not yet started) source the options name; only its own options are passed to it."""
    return make_source(args.source, source_options(args))


def profile_name(args: argparse.Namespace) -> str:
    """The profile the user named, else the one that fits the source's names."""
    return args.profile or source_class(args.source).DEFAULT_PROFILE


def profile_from_args(args: argparse.Namespace):
    from vtube_plugin.mapping.profile import load_profile

    return load_profile(profile_name(args))


def waiting_hint(args: argparse.Namespace) -> str:
    return source_class(args.source).waiting_hint(source_options(args))
