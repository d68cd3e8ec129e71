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
`render` {fps, output_fps, render_ms, latency_p50_ms, latency_p95_ms, smooth: {mode, distinct_fps}, engine, plan},
`calibrating` bool, `mirror` bool, `draft` {pose: {parameter: value}} (a preset being made from sliders, shown
over the live face; `save_preset` {name, key?} writes it into the user's expressions file), `faults` {name: times}
(what lasts: "webcam gone", "microphone gone").

A command's answer is the part of `state()` it changed ({"recording": {"on": true, "path": ...}}); a bad
command or payload, or one this session cannot apply, raises UserError with a sentence for the user, and
changes nothing. Events: after each command, one event per state key it changed, `{"type": KEY, "data":
state()[KEY]}`; the same when something else changes that part (an expression's one-shot ends, tracking
arrives or is lost: "source", a calibration finishes: "calibrating"); and
- `{"type": "status", "data": {"render": ..., "source": ..., "lip_sync": ..., "recording": ..., "faults": ...}}`
  about twice a second;
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

from vtube_plugin.live.dispatch import (  # the interface itself; live/running.py builds a session behind it
    ACTIONS,
    COMMANDS,
    LIP_SYNC_MODES,
    OUTPUTS,
    STATE_KEYS,
    Event,
    Field,
    Listener,
    Session,
    SessionCommands,
    check_payload,
)
from vtube_plugin.live.running import start_session

__all__ = ["ACTIONS", "COMMANDS", "LIP_SYNC_MODES", "OUTPUTS", "STATE_KEYS", "Event", "Field", "Listener", "Session",
           "SessionCommands", "check_payload", "start_session"]
