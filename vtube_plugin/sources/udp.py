"""The UDP receive loop shared by network trackers (VMC, iFacialMocap), and who may send to it.

One datagram at a time on the source's own thread; a datagram that breaks anything is dropped and
counted, so no packet, however broken, can stop the stream. Only allowed senders reach a parser: a
fixed list of addresses, else the first address heard (locked for the session), or any when asked.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from collections.abc import Callable

from vtube_plugin.errors import UserError
from vtube_plugin.ports import check_port, port_type
from vtube_plugin.sources.base import Malformed, Source, say_on_console

MAX_DATAGRAM = 65535
# A burst of bundles (VSeeFace splits a frame into several) must not overflow the kernel's queue
# while our thread is busy; 4 MiB is asked for, the OS may grant less.
RECEIVE_BUFFER = 4 * 1024 * 1024
POLL_SECONDS = 0.2  # how often the loop looks at the stop flag and runs `_idle`
LISTEN_PORT = port_type(zero="picks a free port")  # the OPTIONS type of a port we listen on
ANY_SENDER = "any"
ALLOW_SEPARATOR = "+"  # `vmc:allow=192.168.1.5+192.168.1.6`: commas already separate a source's options


def _plain(address: str) -> str:
    """One spelling per address: a dual-stack socket reports IPv4 senders as ::ffff:a.b.c.d."""
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return address
    mapped = getattr(ip, "ipv4_mapped", None)
    return str(mapped or ip)


def parse_allow(text: str | None) -> frozenset[str] | None:
    """`allow=` as typed: None for "any", else the addresses; empty (no option) means "the first sender heard"."""
    if text is None or not text.strip():
        return frozenset()
    if text.strip().lower() == ANY_SENDER:
        return None
    addresses = set()
    for part in filter(None, (p.strip() for p in text.split(ALLOW_SEPARATOR))):
        try:
            addresses.add(_plain(str(ipaddress.ip_address(part))))
        except ValueError:
            raise ValueError(f"allow={text}: '{part}' is not an IP address; give the tracker's addresses joined "
                             f"with {ALLOW_SEPARATOR} (allow=192.168.1.5{ALLOW_SEPARATOR}192.168.1.6), "
                             f"or allow={ANY_SENDER}") from None
    return frozenset(addresses)


def open_udp_socket(host: str, port: int, what: str) -> socket.socket:
    """A bound UDP socket, or a UserError that says which port is taken and what to do."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    except socket.gaierror as err:
        raise UserError(f"{what}: '{host}' is not an address this PC can listen on ({err}). "
                        "Use 0.0.0.0 or 127.0.0.1.") from None
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
    except OSError:
        pass
    try:
        sock.bind(address)
    except OSError as err:
        sock.close()
        in_use = err.errno in (errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", -1))
        if in_use or getattr(err, "winerror", None) == 10048:  # 10048: Windows says WSAEADDRINUSE this way
            raise UserError(
                f"{what}: UDP port {port} on {host} is already in use by another program "
                "(another vtube-plugin, or a tracker app that also receives on it). "
                "Close that program, or choose another port here and in the sending app."
            ) from None
        raise UserError(f"{what}: cannot listen on UDP {host}:{port}: {err.strerror or err}.") from None
    sock.settimeout(POLL_SECONDS)
    return sock


def text_of(data: bytes) -> str:
    """A datagram of a text protocol (iFacialMocap, VTube Studio) as text; Malformed when it is not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise Malformed("not UTF-8 text") from None


class UdpSource(Source):
    """A source fed by UDP datagrams. Subclasses implement `_handle(data, sender)`."""

    def __init__(self, host: str, port: int, allow: frozenset[str] | None = frozenset(),
                 say: Callable[[str], None] = say_on_console) -> None:
        """`allow`: the addresses that may send, None for any sender, empty to lock onto the first one heard."""
        super().__init__()
        self.host = host
        self.port = check_port(port, "port", zero="picks a free port")
        self.allowed = allow
        self.say = say
        self.sender: str | None = None  # "address:port" of the newest datagram let through (the studio shows it)
        self._sock: socket.socket | None = None

    def _accept(self, sender: tuple) -> bool:
        """Whether a datagram from `sender` may reach the parser; the others are counted per address."""
        allowed = self.allowed
        if allowed is None or sender[0] in allowed:
            return True
        address = _plain(sender[0])
        if address in allowed:
            return True
        if not allowed:
            self.allowed = frozenset({address, sender[0]})
            self.say(f"{self.name}: receiving from {address}; datagrams from other addresses are ignored "
                     "(allow= names more senders, allow=any takes all)")
            return True
        self.stats.count_ignored(address)
        self._notify()
        return False

    @property
    def address(self) -> tuple[str, int]:
        """Where the source listens (the real port when it was started with port 0)."""
        if self._sock is None:
            return (self.host, self.port)
        return self._sock.getsockname()[:2]

    def _open(self) -> None:
        self._sock = open_udp_socket(self.host, self.port, f"{self.name} source")

    def _close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _loop(self) -> None:
        sock = self._sock
        assert sock is not None
        while not self._stopping.is_set():
            try:
                data, sender = sock.recvfrom(MAX_DATAGRAM)
            except TimeoutError:
                self._idle()
                continue
            except ConnectionResetError:
                # Windows reports an earlier send's "port unreachable" on the next receive; harmless.
                continue
            except OSError:
                if self._stopping.is_set():
                    break
                raise
            if not self._accept(sender):
                self._idle()  # a stranger's flood never lets the receive time out: the resend timer still runs
                continue
            self.sender = f"{_plain(sender[0])}:{sender[1]}"
            try:
                self._handle(data, sender)
            except Malformed as bad:
                self._drop(bad.reason)
            except Exception as err:  # a parser bug must cost one packet, never the stream
                self._drop(f"unexpected {type(err).__name__}")
            self._received()  # counted once handled, so "packets == sent" means all were dealt with
            self._idle()

    def _handle(self, data: bytes, sender: tuple) -> None:
        raise NotImplementedError

    def _idle(self) -> None:
        """Called after each datagram and every POLL_SECONDS of silence."""
