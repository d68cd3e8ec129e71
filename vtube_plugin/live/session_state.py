"""A running LiveSession as one JSON snapshot, `state()` of the session's commands (live/commands.py), put
together from the loop's facts (the status line's own figures) and the settings in use.
"""

from __future__ import annotations

import time


def session_state(session) -> dict:
    """The JSON snapshot behind SessionCommands.state() (its keys: live/commands.py's docstring)."""
    from vtube_plugin.expressions.commands import expressions_state
    from vtube_plugin.sources import SOURCES

    loop, c = session.loop, session.config
    now = time.monotonic()
    facts = loop.facts(now)  # what the status line shows, as values
    stats = facts["stats"] or {}
    lip = session.lip_sync
    voice = lip.voice.now() if lip is not None and lip.input is not None else None
    recording: dict = {"on": bool(session.recording), "folder": str(session.recording_folder)}
    if session.recording:
        recording.update(path=str(session.recording[0].path), seconds=round(now - session.recording[1], 2))
    source_state = {
        "name": c.source, "options": dict(c.source_options), "sources": list(SOURCES), "state": facts["tracker"],
        "age": None if facts["age"] is None else round(facts["age"], 3),
        "packets": stats.get("packets", 0), "dropped": stats.get("dropped", 0),
        "ignored": sum(stats.get("ignored", {}).values()), "ignored_text": facts["ignored_text"]}
    if facts["sender"]:
        source_state["sender"] = facts["sender"]
    latency = facts["latency"]
    smooth = {"mode": facts["smooth"], "distinct_fps": round(facts["distinct_fps"], 2)}
    return {
        "source": source_state,
        "profile": c.profile,
        "expressions": expressions_state(session.expressions),
        "idle": session.idle is not None,
        "lip_sync": {"mode": "mic" if lip is not None else "off",
                     "device": _device_of(lip.settings.input) if lip is not None else None,
                     "level": None if voice is None else round(float(voice.level_db), 1),
                     "gate": c.lip_sync.voice.gate_db, "talking": bool(voice is not None and voice.active),
                     "status": lip.status() if lip is not None else ""},
        "character": c.character,
        "recording": recording,
        "outputs": {"virtualcam": session.virtualcam is not None,
                    "vmc_out": {"on": session.vmc_sender is not None, "target": session._vmc_target}},
        "render": {"fps": round(facts["render_fps"], 2), "output_fps": round(facts["output_fps"], 2),
                   "render_ms": round(facts["render_ms"], 1),
                   "smooth": smooth,  # --smooth, and the pictures a second that are not repeats
                   "latency_p50_ms": None if latency is None else round(latency[0] * 1000, 1),
                   "latency_p95_ms": None if latency is None else round(latency[1] * 1000, 1),
                   "engine": getattr(session.renderer, "engine", None),
                   "plan": dict(getattr(session.renderer, "stage_precisions", {}))},
        "calibrating": facts["calibrating"] is not None,
        "mirror": bool(c.source_options.get("mirror", False)),
        "draft": {"pose": dict(session.draft.pose)},  # the preset being made from sliders ({} when none)
        "faults": facts["conditions"],  # faults that last (webcam gone, microphone gone): {name: times}
    }


def _device_of(spec: str) -> str | None:
    from vtube_plugin.audio.lip_sync import parse_input

    return parse_input(spec)[1]
