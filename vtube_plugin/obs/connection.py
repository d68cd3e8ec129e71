"""Opening obs-websocket connections with obsws-python, and turning its failures into plain words.

obsws-python logs the password at INFO and reads a stray config.toml when given no arguments: we
silence its logger and always pass host, port and password explicitly.
"""

from __future__ import annotations

import logging

from vtube_plugin.errors import UserError
from vtube_plugin.obs.settings import ObsSettings

# obsws-python's loggers are children of this one; raising its level silences them all.
logging.getLogger("obsws_python").setLevel(logging.CRITICAL + 1)


class ObsUnavailable(UserError):
    """OBS could not be reached or refused us. `reason`: not-running, wrong-password, no-password, lost."""

    def __init__(self, message: str, reason: str):
        super().__init__(message, exit_code=3)
        self.reason = reason


def describe_failure(exc: BaseException, settings: ObsSettings) -> ObsUnavailable:
    """The one place that maps connection errors to messages (none of them may carry the password)."""
    from obsws_python.error import OBSSDKError

    where = settings.address
    text = str(exc)
    if isinstance(exc, OBSSDKError) and "no password provided" in text:
        return ObsUnavailable(f"OBS at {where} asks for a password; give it with --obs-password-file, the "
                              "OBS_PASSWORD environment variable or password = \"...\" in obs.toml "
                              "(OBS: Tools > WebSocket Server Settings > Show Connect Info)", "no-password")
    if isinstance(exc, OBSSDKError) and "failed to identify" in text:
        return ObsUnavailable(f"wrong password for OBS at {where}; check Tools > WebSocket Server Settings > "
                              "Show Connect Info in OBS, and --obs-password(-file) / OBS_PASSWORD / obs.toml here",
                              "wrong-password")
    if isinstance(exc, (ConnectionRefusedError, TimeoutError)) or type(exc).__name__ == "WebSocketTimeoutException":
        return ObsUnavailable(f"OBS is not reachable at {where}: is OBS running, with Tools > WebSocket Server "
                              "Settings > Enable WebSocket server ticked and this port?", "not-running")
    if isinstance(exc, OSError):
        return ObsUnavailable(f"OBS is not reachable at {where} ({exc.__class__.__name__}: "
                              f"{_without(text, settings.password)})", "not-running")
    return ObsUnavailable(f"lost the connection to OBS at {where} ({exc.__class__.__name__})", "lost")


def _without(text: str, password: str) -> str:
    return text.replace(password, "***") if password else text


def _arguments(settings: ObsSettings) -> dict[str, object]:
    # All three always given: with none, obsws-python would read a config.toml from cwd or home instead.
    return {"host": settings.host, "port": settings.port, "password": settings.password, "timeout": settings.timeout}


def open_requests(settings: ObsSettings):
    """An obsws_python.ReqClient, or ObsUnavailable with a plain message."""
    import obsws_python

    try:
        return obsws_python.ReqClient(**_arguments(settings))
    except Exception as exc:  # noqa: BLE001 - every failure becomes one message
        raise describe_failure(exc, settings) from None


def open_events(settings: ObsSettings, callbacks: list) -> object:
    """An obsws_python.EventClient with `callbacks` (functions named on_<event>) registered."""
    import obsws_python

    try:
        client = obsws_python.EventClient(**_arguments(settings))
    except Exception as exc:  # noqa: BLE001
        raise describe_failure(exc, settings) from None
    client.callback.register(callbacks)
    return client


def is_request_failure(exc: BaseException) -> bool:
    """OBS answered but refused one request (missing scene ...), as opposed to a lost connection."""
    from obsws_python.error import OBSSDKRequestError

    return isinstance(exc, OBSSDKRequestError)
