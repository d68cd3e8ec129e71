"""The one check for every port a user types (sources, --port, --control-port, OBS): a whole number 1-65535.

Without it a typo such as 99999 silently listened elsewhere (the OS keeps the low 16 bits), and -1 blamed the address.
"""

from __future__ import annotations

import argparse

HIGHEST = 65535


class PortError(ValueError, argparse.ArgumentTypeError):
    """Not a usable port. A ValueError for code; argparse prints its text after the option's name, exit 2."""


def check_port(value: object, name: str | None = None, zero: str | None = None) -> int:
    """`value` (an int, or the text a user typed) as a port, else PortError.

    `name` ("port", "OBS_PORT") starts the message as `name=value`; `zero` says what 0 means where 0 is
    allowed ("off", "picks a free port"), None refuses 0 too.
    """
    text = str(value).strip()
    port = None
    if not isinstance(value, bool):
        try:
            port = int(text)
        except ValueError:
            pass
    lowest = 0 if zero else 1
    if port is None or not lowest <= port <= HIGHEST:
        allowed = f"{lowest}-{HIGHEST}" + (f"; 0 {zero}" if zero else "")
        raise PortError(f"{name + '=' if name else ''}{text} is not a port number ({allowed})")
    return port


def port_type(zero: str | None = None):
    """`check_port` as an argparse `type=` (and a source's OPTIONS type)."""

    def port(text: str) -> int:
        return check_port(text, zero=zero)

    return port
