"""What the user set through the session's commands (source, profile, character, idle life, lip sync, outputs,
the recording folder), kept in <config folder>/studio-settings.json and restored at the next start.

A file that cannot be read is said once and the defaults are used; it is left as it is until the user changes a
setting, and then kept beside the new one as studio-settings.json.broken, so nothing the user wrote is lost.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from vtube_plugin.errors import UserError
from vtube_plugin.live.dispatch import check_payload
from vtube_plugin.live.session import LiveConfig

FILE_NAME = "studio-settings.json"
MAX_BYTES = 64 * 1024  # far more than the settings need; a bigger file is not ours


def settings_path() -> Path:
    from vtube_plugin.config_dir import config_dir

    return config_dir() / FILE_NAME


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


# Each saved key, and the command payload it is checked as when read back.
_AS_COMMAND: dict[str, Callable[[object], tuple[str, dict]]] = {
    "source": lambda v: ("set_source", v),  # {"source": ..., "options": {...}}
    "profile": lambda v: ("set_profile", {"profile": v}),
    "idle": lambda v: ("set_idle", {"on": v}),
    "lip_sync": lambda v: ("set_lip_sync", v),  # {"mode": ..., "device": ...}
    "character": lambda v: ("set_character", {"path": v}),
    "virtualcam": lambda v: ("set_output", {"output": "virtualcam", "on": v}),
    "vmc_out": lambda v: ("set_output", {"output": "vmc_out", **v} if isinstance(v, dict) else v),
    "recording_folder": lambda v: ("start_recording", {"folder": v}),
}


def _check(values: object) -> dict:
    """The saved values checked as the commands that set them would be; a UserError for the first wrong one."""
    from vtube_plugin.sources import check_options

    if not isinstance(values, dict):
        raise UserError("it holds no settings object")
    for key, value in values.items():
        if key == "version":
            continue
        if key not in _AS_COMMAND:
            raise UserError(f"{key!r:.80} is not a setting")
        if value is None and key in ("profile", "character"):
            continue
        type, payload = _AS_COMMAND[key](value)
        checked = check_payload(type, payload)
        if key == "source":
            check_options(checked["source"], checked.get("options", {}))
    return values


@dataclass
class SavedSettings:
    """`remember(command, data)` after each command the user gave; `apply_to(config)` at the next start."""

    path: Path
    values: dict = field(default_factory=dict)
    problem: str | None = None  # why the file could not be used (the defaults are used instead)
    say: Callable[[str], None] = _say

    def apply_to(self, config: LiveConfig) -> LiveConfig:
        """`config` with the saved settings in place of its own."""
        v = self.values
        changes: dict = {}
        if "source" in v:
            from vtube_plugin.sources import check_options

            changes["source"] = v["source"]["source"]
            changes["source_options"] = check_options(changes["source"], v["source"].get("options") or {})
        if "profile" in v:
            changes["profile"] = v["profile"]
        if "idle" in v:
            changes["idle"] = "on" if v["idle"] else "off"
        if "lip_sync" in v:
            device = v["lip_sync"].get("device")
            spec = "off" if v["lip_sync"]["mode"] == "off" else ("mic" if not device else f"mic:device={device}")
            changes["lip_sync"] = replace(config.lip_sync, input=spec)
        if v.get("character"):
            if Path(v["character"]).expanduser().is_file():
                changes["character"] = v["character"]
            else:
                self.say(f"the saved character {v['character']} is gone; using the sample character")
        outputs = [o for o in config.outputs if o != "virtualcam"]
        if v.get("virtualcam"):
            outputs.append("virtualcam")
        changes["outputs"] = tuple(outputs) if "virtualcam" in v else config.outputs
        vmc = v.get("vmc_out")
        if vmc is not None:
            changes["send_vmc"] = vmc.get("target") if vmc.get("on") else None
        return replace(config, **changes)

    @property
    def recording_folder(self) -> str | None:
        return self.values.get("recording_folder")

    @property
    def vmc_target(self) -> str | None:
        return (self.values.get("vmc_out") or {}).get("target")

    def remember(self, type: str, data: dict) -> None:
        """What a command the user gave changes in the saved settings (the others change nothing), saved now."""
        v = dict(self.values)
        if type == "set_source":
            v["source"] = {"source": data["source"], "options": dict(data.get("options") or {})}
        elif type == "set_mirror":
            source = v.get("source") or {"source": "webcam", "options": {}}
            v["source"] = {"source": source["source"], "options": {**source.get("options", {}), "mirror": data["on"]}}
        elif type == "set_profile":
            v["profile"] = None if data["profile"] == "auto" else data["profile"]
        elif type == "set_idle":
            v["idle"] = data["on"]
        elif type == "set_lip_sync":
            v["lip_sync"] = {"mode": data["mode"], **({"device": data["device"]} if data.get("device") else {})}
        elif type == "set_character":
            v["character"] = str(Path(data["path"]).expanduser().resolve())
        elif type == "start_recording" and data.get("folder"):
            v["recording_folder"] = str(Path(data["folder"]).expanduser().resolve())
        elif type == "set_output" and data["output"] == "virtualcam":
            v["virtualcam"] = data["on"]
        elif type == "set_output":
            v["vmc_out"] = {"on": data["on"], "target": data.get("target") or self.vmc_target}
        else:
            return
        if v != self.values:
            self.values = v
            self.save()

    def save(self) -> None:
        """Written whole (a new file moved into place), so a crash never leaves half a file."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.problem is not None and self.path.exists():
                os.replace(self.path, self.path.with_name(self.path.name + ".broken"))
                self.say(f"the settings file that could not be read is kept as {self.path.name}.broken")
            self.problem = None
            new = self.path.with_name(self.path.name + ".new")
            new.write_text(json.dumps({"version": 1, **self.values}, indent=1) + "\n", encoding="utf-8")
            os.replace(new, self.path)
        except OSError as exc:  # the setting still applies to this session
            self.say(f"cannot save the settings to {self.path} ({exc.strerror or exc}); they apply until you stop")


def load_saved_settings(path: Path | None = None, say: Callable[[str], None] = _say) -> SavedSettings:
    """The saved settings, or none (the defaults) when there is no file yet or it cannot be used (said)."""
    path = path if path is not None else settings_path()
    if not path.exists():
        return SavedSettings(path, say=say)
    try:
        if path.stat().st_size > MAX_BYTES:
            raise UserError(f"it is larger than {MAX_BYTES // 1024} KiB")
        values = _check(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, ValueError, UserError) as err:
        problem = f"the saved settings {path} cannot be used ({err}); starting from the defaults (the file is " \
                  "left as it is until you change a setting)"
        say(problem)
        return SavedSettings(path, problem=problem, say=say)
    values.pop("version", None)
    return SavedSettings(path, values, say=say)
