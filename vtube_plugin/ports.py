"""What every listener shares: the one check for every port a user types (sources, --port, --control-port,
OBS: a whole number 1-65535) and a bound on the connections a threaded TCP server serves at once.

Without the check a typo such as 99999 silently listened elsewhere (the OS keeps the low 16 bits), and -1 blamed
the address.
"""

from __future__ import annotations

import argparse
import threading

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


class BoundedConnections:
    """Mix in before a socketserver Threading*Server: at most `max_connections` requests are served at once, and
    one more is hung up on at once instead of getting a thread of its own (half-sent requests held a thread
    each, without end)."""

    max_connections = 8

    def __init__(self, *args, **kwargs) -> None:
        self._slots = threading.BoundedSemaphore(self.max_connections)
        super().__init__(*args, **kwargs)

    def process_request(self, request, client_address) -> None:
        if not self._slots.acquire(blocking=False):
            self.shutdown_request(request)  # full: hang up at once rather than start one more thread
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()
