"""One way into a running live session: every action is a named command with a checked payload, applied in one
place and answered with a result, and every change of state is an event for whoever listens (obs-websocket 5's
shape). The console, the control channel, OBS hotkeys, `vtube-plugin expression` and the studio page are small
adapters from their own form (a line, a hotkey, a click) to `SessionCommands.run`.

    commands.run("set_expression", {"name": "happy", "action": "toggle"})  # -> {"expressions": {...}}
    commands.run("set_source", {"source": "vmc", "options": {"port": 39539}})
    commands.state()                       # a JSON-serialisable snapshot (STATE_KEYS)
    unsubscribe = commands.subscribe(print)  # {"type": "expressions", "data": {...}}, from any thread

state(): `source` {name, options, state: waiting|tracking|lost, sender?: "addr:port", packets, dropped, ignored,
sources: [names]}, `profile` (name; null: the source's own), `expressions` {presets: [{name, hotkey}], active:
[names]}, `idle` bool, `lip_sync` {mode: off|mic, device, level (dB), gate (dB), talking}, `character` (path; null:
the sample), `recording` {on, path?, seconds?, folder}, `outputs` {virtualcam: bool, vmc_out: {on, target}},
`render` {fps, output_fps, latency_p50_ms, latency_p95_ms, engine, plan}, `calibrating` bool, `mirror` bool.

A command's answer is the part of `state()` it changed ({"recording": {"on": true, "path": ...}}); a bad
command or payload, or one this session cannot apply, raises UserError with a sentence for the user, and
changes nothing. Events: after each command, one event per state key it changed, `{"type": KEY, "data":
state()[KEY]}`; the same when something else changes that part (an expression's one-shot ends, tracking
arrives or is lost: "source", a calibration finishes: "calibrating"); and
- `{"type": "status", "data": {"render": ..., "source": ..., "lip_sync": ...}}` about twice a second;
- `{"type": "message", "data": {"text": ...}}`: what the console would say (calibrated, OBS connected, ...);
- `{"type": "stopped", "data": {"reason": ...}}` once, when the session has ended.
Listeners are called from the thread that made the change and must not block (queue the work); one that
raises is skipped, never the others.

A running session from the user's saved settings (what `vtube-plugin studio` does):

    from vtube_plugin.live.commands import start_session
    commands, stop = start_session(sinks=[my_feed_sink])   # returns once the session streams; UserError if not
    ...                                                   # commands.run(...) from any thread
    summary = stop()                                      # stops and closes everything; the LiveSummary

`start_session(settings=None, *, sinks=(), status_stream=None)`: `settings` a `settings.SavedSettings`
(None: read from the user's config folder, see vtube_plugin/settings/); `sinks` outputs of the caller's (the
studio's preview and Browser Source feed), called only from the session's loop thread. What commands change
is saved back to the settings file and restored by the next start.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from vtube_plugin.errors import UserError

Event = dict  # {"type": str, "data": Any}
Listener = Callable[[Event], None]

ACTIONS = ("trigger", "release", "toggle", "press")  # expressions.layer.ACTIONS (checked by tests/test_commands)
LIP_SYNC_MODES = ("off", "mic")
OUTPUTS = ("virtualcam", "vmc_out")
STATE_KEYS = ("source", "profile", "expressions", "idle", "lip_sync", "character", "recording", "outputs", "render",
              "calibrating", "mirror")


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
    "stop": ({}, ()),
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
        with self._lock:
            getattr(self._session, type)(**checked)
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


def start_session(settings=None, *, sinks=(), status_stream=None):
    """A running session from the saved settings: (SessionCommands, stop). See the module docstring."""
    from vtube_plugin.live.running import start_session as start

    return start(settings, sinks=sinks, status_stream=status_stream)
