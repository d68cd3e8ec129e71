"""The local control channel: `vtube-plugin expression happy` reaches the running `vtube-plugin run`.

The run loop listens on 127.0.0.1:41455 (TCP, loopback only) for one-line commands such as
`expression happy trigger` and answers one line: `ok ...` or `error ...`. The console uses the same words.
"""

from __future__ import annotations

import socket
import socketserver
import sys
import threading
from collections.abc import Callable
from typing import TextIO

from vtube_plugin.errors import UserError
from vtube_plugin.expressions.layer import ACTIONS, ExpressionLayer

DEFAULT_PORT = 41455
HELP = f"commands: NAME [{'|'.join(ACTIONS)}], release-all, list (an `expression ` prefix is allowed)"


def execute(layer: ExpressionLayer, line: str, default_action: str = "trigger") -> str:
    """Run one command line against the layer; the answer starts with `ok` or `error`."""
    words = line.split()
    if words and words[0] == "expression":
        words = words[1:]
    if not words:
        return f"error empty command; {HELP}"
    if words == ["list"]:
        return f"ok active: {' '.join(layer.active()) or '(none)'}; expressions: {' '.join(layer.presets)}"
    if words == ["release-all"]:
        layer.release_all()
        return "ok all released"
    name, action = words[0], (words[1] if len(words) > 1 else default_action)
    if len(words) > 2 or action not in ACTIONS:
        return f"error cannot read {line.strip()!r}; {HELP}"
    if name not in layer.presets:
        return f"error unknown expression '{name}'; known: {', '.join(layer.presets)}"
    getattr(layer, action)(name)
    return f"ok {name} {'on' if layer.is_active(name) else 'off'}"


class _Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        for raw in self.rfile:
            line = raw.decode("utf-8", "replace").strip()
            if line:
                answer = execute(self.server.layer, line)  # type: ignore[attr-defined]
                self.wfile.write((answer + "\n").encode())


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


class ControlServer:
    """`ControlServer(layer, port).start()` listens on 127.0.0.1 until `close()`. Port 0 picks a free one."""

    def __init__(self, layer: ExpressionLayer, port: int = DEFAULT_PORT):
        try:
            self._server = _Server(("127.0.0.1", port), _Handler)
        except OSError as exc:
            raise UserError(f"cannot listen for expression commands on 127.0.0.1:{port} ({exc.strerror}); "
                            "is another `vtube-plugin run` using it? Choose another with --control-port") from None
        self._server.layer = layer  # type: ignore[attr-defined]
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="control-server", daemon=True)

    def start(self) -> ControlServer:
        self._thread.start()
        return self

    def close(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> ControlServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()


def send_command(line: str, port: int = DEFAULT_PORT, timeout: float = 3.0) -> str:
    """The client side: send one command to a running `vtube-plugin run`, return its `ok ...` answer."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall((line.strip() + "\n").encode())
            answer = sock.makefile("r", encoding="utf-8").readline().strip()
    except ConnectionRefusedError:
        raise UserError(f"nothing is listening on 127.0.0.1:{port}: start `vtube-plugin run` first "
                        "(with the same --control-port)") from None
    except OSError as exc:
        raise UserError(f"cannot talk to `vtube-plugin run` on 127.0.0.1:{port}: {exc}") from None
    if answer.startswith("error "):
        raise UserError(answer[len("error "):])
    if not answer.startswith("ok"):
        raise UserError(f"unexpected answer from 127.0.0.1:{port}: {answer!r} (is that port vtube-plugin's?)")
    return answer


def typed_lines(layer: ExpressionLayer, out: TextIO | None = None) -> Callable[[str], None]:
    """What the run's console (live/console.py, the one terminal reader) does with a line that is not one of its
    own commands: `happy` + Enter presses the expression, and the answer is printed."""

    def answer(line: str) -> None:
        print(execute(layer, line, default_action="press"), file=out if out is not None else sys.stderr, flush=True)

    return answer
