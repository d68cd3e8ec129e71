"""The session's command vocabulary (COMMANDS), the payload checks and the dispatcher `SessionCommands`; the
public face, with the whole contract, is live/commands.py.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from vtube_plugin.errors import UserError
from vtube_plugin.expressions.layer import ACTIONS  # one list of what may be asked of an expression

Event = dict  # {"type": str, "data": Any}
Listener = Callable[[Event], None]

LIP_SYNC_MODES = ("off", "mic")
OUTPUTS = ("virtualcam", "vmc_out")
STATE_KEYS = ("source", "profile", "expressions", "idle", "lip_sync", "character", "recording", "outputs", "render",
              "calibrating", "mirror", "draft", "faults")


@dataclass(frozen=True)
class Field:
    """One payload field: its JSON type, whether it must be there, and the values it may take."""

    kind: type
    required: bool = True
    choices: tuple[str, ...] = ()


# The vocabulary: each command's payload fields, and the parts of state() it changes (the events it publishes).
COMMANDS: dict[str, tuple[dict[str, Field], tuple[str, ...]]] = {
    "set_expression": ({"name": Field(str), "action": Field(str, False, ACTIONS)}, ("expressions",)),
    "clear_expressions": ({}, ("expressions",)),
    "calibrate": ({}, ("calibrating",)),
    "reset_calibration": ({}, ("calibrating",)),
    "stop": ({"reason": Field(str, False)}, ()),  # reason: what the summary says stopped it (q, studio)
    "set_source": ({"source": Field(str), "options": Field(dict, False)}, ("source", "profile", "mirror")),
    "set_profile": ({"profile": Field(str)}, ("profile",)),
    "set_idle": ({"on": Field(bool)}, ("idle",)),
    "set_lip_sync": ({"mode": Field(str, True, LIP_SYNC_MODES), "device": Field(str, False)}, ("lip_sync",)),
    "set_character": ({"path": Field(str)}, ("character",)),
    "start_recording": ({"folder": Field(str, False)}, ("recording",)),
    "stop_recording": ({}, ("recording",)),
    "set_output": ({"output": Field(str, True, OUTPUTS), "on": Field(bool), "target": Field(str, False)},
                   ("outputs",)),
    "set_mirror": ({"on": Field(bool)}, ("source", "mirror")),
    "set_draft": ({"pose": Field(dict)}, ("draft",)),  # a preset being made: {parameter: value}, {} for none
    "save_preset": ({"name": Field(str), "key": Field(str, False)}, ("expressions", "draft")),
}
# Longest text any payload string may be (a path, a device name): a bound on what a command can make us keep.
MAX_TEXT = 4096


class Session(Protocol):
    """What SessionCommands drives (live/running.py's LiveSession): one method per command, named as the command,
    taking the checked payload as keyword arguments; a UserError when it cannot do it."""

    def state(self) -> dict: ...


def check_payload(type: str, data: dict | None) -> dict:
    """The payload checked against COMMANDS: known command, known fields of the right type, allowed values."""
    if not isinstance(type, str) or type not in COMMANDS:
        raise UserError(f"unknown command {type!r}; commands: {', '.join(COMMANDS)}")
    fields, _ = COMMANDS[type]
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise UserError(f"{type}: the payload must be an object of named values, got {data!r:.80}")
    unknown = [k for k in data if k not in fields]
    if unknown:
        raise UserError(f"{type}: unknown field {unknown[0]!r:.80}; fields: {', '.join(fields) or '(none)'}")
    checked = {}
    for key, spec in fields.items():
        if key not in data or data[key] is None:
            if spec.required:
                raise UserError(f"{type}: {key} is missing")
            continue
        value = data[key]
        if not isinstance(value, spec.kind) or (spec.kind is not bool and isinstance(value, bool)):
            raise UserError(f"{type}: {key} must be {_kind_name(spec.kind)}, got {value!r:.80}")
        if isinstance(value, str) and len(value) > MAX_TEXT:
            raise UserError(f"{type}: {key} is longer than {MAX_TEXT} characters")
        if isinstance(value, dict) and len(repr(value)) > MAX_TEXT:
            raise UserError(f"{type}: {key} is larger than {MAX_TEXT} characters")
        if spec.choices and value not in spec.choices:
            raise UserError(f"{type}: {key} {value!r:.80} is not one of {', '.join(spec.choices)}")
        checked[key] = value
    return checked


def _kind_name(kind: type) -> str:
    return {str: "text", bool: "true or false", int: "a whole number", dict: "an object of named values"}.get(
        kind, kind.__name__)


class SessionCommands:
    """The one command interface of a live session. Thread-safe: commands run one at a time, in the caller's
    thread (the session hands work that must happen between two frames to its own threads and waits)."""

    def __init__(self, session: Session, on_applied: Callable[[str, dict], None] | None = None):
        self._session = session
        self._on_applied = on_applied  # after each successful command (the saved settings remember it)
        self._lock = threading.RLock()  # one command at a time; re-entrant for a command that runs another
        self._listeners: list[Listener] = []
        self._listeners_lock = threading.Lock()

    def run(self, type: str, data: dict | None = None) -> dict:
        """Check and apply one command; returns the parts of state() it changed. UserError: nothing changed."""
        checked = check_payload(type, data)
        _, changes = COMMANDS[type]
        apply = getattr(self._session, type, None)
        if apply is None:
            raise UserError(f"{type}: this session cannot do that (yet)")
        with self._lock:
            apply(**checked)
            state = self._session.state()
            if self._on_applied is not None:
                self._on_applied(type, checked)
        result = {key: state[key] for key in changes}
        for key in changes:
            self.publish(key, result[key])
        return result

    def state(self) -> dict:
        """A JSON-serialisable snapshot: STATE_KEYS (see the module docstring and docs/architecture.md)."""
        return self._session.state()

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """`listener(event)` for every event from now on; returns the function that unsubscribes it."""
        with self._listeners_lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._listeners_lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def publish(self, type: str, data: Any) -> None:
        """Send an event to every listener (the session calls this for changes that no command made)."""
        with self._listeners_lock:
            listeners = list(self._listeners)
        event = {"type": type, "data": data}
        for listener in listeners:
            try:
                listener(event)
            except Exception:  # noqa: BLE001 - one broken listener must not stop the others or the session
                pass

    def changed(self, key: str) -> None:
        """Publish the current value of one part of state() (something other than a command changed it)."""
        self.publish(key, self._session.state()[key])
