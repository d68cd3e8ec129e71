"""Where to reach OBS: host, port and password from options, environment variables or our obs.toml.

Precedence: command-line options, then OBS_HOST / OBS_PORT / OBS_PASSWORD, then
`<user config>/vtube-plugin/obs.toml`, then localhost:4455 with no password. The password may also come
from a file (--obs-password-file, OBS_PASSWORD_FILE): unlike --obs-password, neither shows in the process
list (`ps`) of other users. The password never appears in a repr, a log line or an error message.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from vtube_plugin.errors import UserError
from vtube_plugin.ports import PortError, check_port
from vtube_plugin.user_files import read_text, read_toml

DEFAULT_HOST = "localhost"
DEFAULT_PORT = 4455  # obs-websocket 5's default (Tools > WebSocket Server Settings)


@dataclass(frozen=True)
class ObsSettings:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    password: str = field(default="", repr=False)
    timeout: float = 3.0  # seconds for connecting and for each request

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class ObsOptions:
    """What the user gave for OBS; `resolve_settings` fills the rest from the environment and obs.toml."""

    host: str | None = None
    port: str | int | None = None
    password: str | None = None
    config: str | None = None
    password_file: str | None = None

    def resolve(self) -> ObsSettings:
        return resolve_settings(host=self.host, port=self.port, password=self.password, config=self.config,
                                password_file=self.password_file)


def config_path() -> Path:
    from vtube_plugin.config_dir import config_dir

    return config_dir() / "obs.toml"


def _check_config(data: dict[str, object], path: Path) -> None:
    unknown = set(data) - {"host", "port", "password"}
    if unknown:
        raise UserError(f"OBS settings file {path}: unknown setting(s) {', '.join(sorted(unknown))}; "
                        "use host, port and password")


def _port(value: object, where: str) -> int:
    try:
        return check_port(value)
    except PortError as err:
        raise UserError(f"{where}: the OBS port {err}, such as 4455") from None


def read_password_file(path: str | Path) -> str:
    """The password in a file of its own: its first line, without the line end (spaces are kept)."""
    text = read_text(Path(path).expanduser(), "OBS password file")
    password = text.splitlines()[0] if text else ""
    if not password:
        raise UserError(f"the OBS password file {path} is empty; write the password on its first line")
    return password


def resolve_settings(host: str | None = None, port: int | str | None = None, password: str | None = None,
                     config: str | Path | None = None, env: Mapping[str, str] | None = None,
                     password_file: str | Path | None = None) -> ObsSettings:
    """Merge the sources of settings. A `config` given explicitly must exist."""
    env = os.environ if env is None else env
    if password is None and password_file is None and env.get("OBS_PASSWORD_FILE") and not env.get("OBS_PASSWORD"):
        password_file = env["OBS_PASSWORD_FILE"]
    if password is None and password_file is not None:
        password = read_password_file(password_file)
    path = Path(config) if config is not None else config_path()
    file = read_toml(path, "OBS settings file", missing_ok=config is None)  # ours is optional, a named one not
    if isinstance(file.get("obs"), dict):
        file = file["obs"]
    _check_config(file, path)

    def pick(option, env_name: str, key: str):
        if option is not None:
            return option, "the command line"
        if env.get(env_name):
            return env[env_name], env_name
        if key in file:
            return file[key], str(path)
        return None, ""

    host_value, _ = pick(host, "OBS_HOST", "host")
    port_value, port_where = pick(port, "OBS_PORT", "port")
    password_value, password_where = pick(password, "OBS_PASSWORD", "password")
    if password_value is not None and not isinstance(password_value, str):
        raise UserError(f"{password_where}: the OBS password must be text (quote it in TOML)")
    return ObsSettings(
        host=str(host_value or DEFAULT_HOST),
        port=_port(port_value, port_where) if port_value is not None else DEFAULT_PORT,
        password=password_value or "",
    )
