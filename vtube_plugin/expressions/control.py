"""The local control channel: `vtube-plugin expression happy` reaches the running `vtube-plugin run`.

The run loop listens on 127.0.0.1:41455 (TCP, loopback only) for one-line commands such as
`expression happy trigger` and answers one line: `ok ...` or `error ...`. The console uses the same words.

Every web page the user opens can reach 127.0.0.1 too, so a client must first send `secret <token>`: a
token made for each run and written to `<config folder>/control-<port>.secret`, readable by the user only.
Anything that looks like HTTP is cut off unanswered; lines, connections and idle time are bounded.
"""

from __future__ import annotations

import hmac
import os
import re
import secrets
import socket
import socketserver
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from vtube_plugin.errors import UserError
from vtube_plugin.expressions.commands import as_commands
from vtube_plugin.expressions.layer import ACTIONS
from vtube_plugin.ports import BoundedConnections

DEFAULT_PORT = 41455
MAX_LINE = 1024  # bytes; the longest real command is an expression name and an action
MAX_CONNECTIONS = 8  # at once; a script sends one command per connection
IDLE_SECONDS = 10.0  # a connection that sends nothing for this long is closed
# A request line (`POST / HTTP/1.1`) or a header line (`Host: ...`): a browser, never our client.
_HTTP = re.compile(rb"^(?:[A-Z]+ \S* HTTP/\d|[A-Za-z0-9-]+:\s)")
HELP = f"commands: NAME [{'|'.join(ACTIONS)}], release-all, list (an `expression ` prefix is allowed)"


def execute(commands, line: str, default_action: str = "trigger") -> str:
    """Run one command line through the session's commands (expressions.commands.as_commands: a bare layer
    works too); the answer starts with `ok` or `error`."""
    commands = as_commands(commands)
    words = line.split()
    if words and words[0] == "expression":
        words = words[1:]
    if not words:
        return f"error empty command; {HELP}"
    try:
        if words == ["list"]:
            state = commands.state()["expressions"]
            return (f"ok active: {' '.join(state['active']) or '(none)'}; "
                    f"expressions: {' '.join(p['name'] for p in state['presets'])}")
        if words == ["release-all"]:
            commands.run("clear_expressions", {})
            return "ok all released"
        name, action = words[0], (words[1] if len(words) > 1 else default_action)
        if len(words) > 2 or action not in ACTIONS:
            return f"error cannot read {line.strip()!r}; {HELP}"
        active = commands.run("set_expression", {"name": name, "action": action})["expressions"]["active"]
    except UserError as err:
        return f"error {err}"
    return f"ok {name} {'on' if name in active else 'off'}"


def secret_path(port: int) -> Path:
    """Where the run listening on `port` keeps its secret (the user's config folder)."""
    from vtube_plugin.config_dir import config_dir

    return config_dir() / f"control-{port}.secret"


def _write_secret(path: Path, secret: str) -> None:
    """Owner-only (0600) from the first byte: the file is created with that mode, never widened later."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)  # a file left by a crashed run may have other permissions
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(handle, "w", encoding="ascii") as out:
        out.write(secret + "\n")


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def setup(self) -> None:
        self.timeout = self.server.idle_seconds  # StreamRequestHandler puts it on the socket
        super().setup()

    def _line(self) -> bytes | None:
        """The next line, or None to hang up: end of stream, idle too long, too long, or HTTP."""
        try:
            raw = self.rfile.readline(MAX_LINE + 1)
        except OSError:  # the idle timeout, or the client reset
            return None
        if not raw or (len(raw) > MAX_LINE and not raw.endswith(b"\n")):
            if raw:
                self._answer("error line too long; closing")
            return None
        if _HTTP.match(raw):
            return None  # a web page's request: no answer it could read, nothing done
        return raw

    def _answer(self, text: str) -> None:
        try:
            self.wfile.write((text + "\n").encode())
        except OSError:
            pass

    def handle(self) -> None:
        raw = self._line()
        words = raw.split() if raw else []
        given = words[1].decode("ascii", "replace") if len(words) == 2 and words[0] == b"secret" else ""
        if raw is None or not hmac.compare_digest(given.encode(), self.server.secret.encode()):
            if raw is not None:
                self._answer(f"error this channel wants the run's secret first (`secret <token>` from "
                             f"{secret_path(self.server.server_address[1]).name}); `vtube-plugin expression` sends it")
            return
        while (raw := self._line()) is not None:
            line = raw.decode("utf-8", "replace").strip()
            if line:
                self._answer(execute(self.server.commands, line))


class _Server(BoundedConnections, socketserver.ThreadingTCPServer):
    max_connections = MAX_CONNECTIONS
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 16  # the listen backlog; more connections than MAX_CONNECTIONS are hung up on anyway

    def __init__(self, address: tuple[str, int], commands, idle_seconds: float):
        self.commands = commands
        self.idle_seconds = idle_seconds
        self.secret = secrets.token_hex(16)
        super().__init__(address, _Handler)


class ControlServer:
    """`ControlServer(commands, port).start()` listens on 127.0.0.1 until `close()`. Port 0 picks a free one.
    `commands`: the session's command interface (live/commands.py), or a bare ExpressionLayer.

    `start()` writes the secret file for `port` (see the module docstring); `close()` removes it."""

    def __init__(self, commands, port: int = DEFAULT_PORT, idle_seconds: float = IDLE_SECONDS):
        try:
            self._server = _Server(("127.0.0.1", port), as_commands(commands), idle_seconds)
        except OSError as exc:
            raise UserError(f"cannot listen for expression commands on 127.0.0.1:{port} ({exc.strerror}); "
                            "is another `vtube-plugin run` using it? Choose another with --control-port") from None
        self.port: int = self._server.server_address[1]
        self.secret_file = secret_path(self.port)
        self._thread = threading.Thread(target=self._server.serve_forever, name="control-server", daemon=True)

    def start(self) -> ControlServer:
        try:
            _write_secret(self.secret_file, self._server.secret)
        except OSError as exc:
            self._server.server_close()
            raise UserError(f"cannot write the control channel's secret to {self.secret_file} "
                            f"({exc.strerror or exc}); set VTUBE_PLUGIN_CONFIG to a folder of yours, "
                            "or --control-port 0 to go without the channel") from None
        self._thread.start()
        return self

    def close(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()
        try:
            if self.secret_file.read_text(encoding="ascii").strip() == self._server.secret:
                self.secret_file.unlink()  # only ours: a later run on the same port may have replaced it
        except (OSError, UnicodeDecodeError):
            pass

    def __enter__(self) -> ControlServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()


def send_command(line: str, port: int = DEFAULT_PORT, timeout: float = 3.0) -> str:
    """The client side: send one command to a running `vtube-plugin run`, return its `ok ...` answer."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(f"secret {_read_secret(port)}\n{line.strip()}\n".encode())
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


def _read_secret(port: int) -> str:
    path = secret_path(port)
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise UserError(f"something listens on 127.0.0.1:{port} but {path} does not exist: is it a "
                        "`vtube-plugin run` of this user, started with the same --control-port?") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read the control channel's secret {path}: {exc}") from None


def typed_lines(commands, out: TextIO | None = None) -> Callable[[str], None]:
    """What the run's console (live/console.py, the one terminal reader) does with a line that is not one of its
    own commands: `happy` + Enter presses the expression (through the session's commands), and the answer is
    printed."""

    def answer(line: str) -> None:
        print(execute(commands, line, default_action="press"), file=out if out is not None else sys.stderr,
              flush=True)

    return answer
