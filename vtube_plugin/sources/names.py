"""One vocabulary of blendshape names for every source, so the mapper sees `eyeBlinkLeft` and `happy`
whatever spelling the tracker used (PascalCase ARKit, iFacialMocap's `_L`, VRM 0.x presets).

Rules (names are matched case-insensitively):
- the 52 ARKit names come out in ARKit's camelCase (`EyeBlinkLeft`, `eyeBlink_L` -> `eyeBlinkLeft`);
- VRM presets come out in the VRM 1.0 spelling; VRM 0.x names are mapped the way the VRM 1.0
  specification migrates them (Joy -> happy, Sorrow -> sad, Fun -> relaxed, A -> aa, I -> ih, U -> ou,
  E -> ee, O -> oh, Blink_L -> blinkLeft, Blink_R -> blinkRight, LookUp -> lookUp, ...);
- anything else (an avatar's own clips, Japanese names) is kept exactly as it came.
"""

from __future__ import annotations

from functools import lru_cache

ARKIT_NAMES: tuple[str, ...] = (
    "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight", "cheekPuff",
    "cheekSquintLeft", "cheekSquintRight", "eyeBlinkLeft", "eyeBlinkRight", "eyeLookDownLeft",
    "eyeLookDownRight", "eyeLookInLeft", "eyeLookInRight", "eyeLookOutLeft", "eyeLookOutRight",
    "eyeLookUpLeft", "eyeLookUpRight", "eyeSquintLeft", "eyeSquintRight", "eyeWideLeft", "eyeWideRight",
    "jawForward", "jawLeft", "jawOpen", "jawRight", "mouthClose", "mouthDimpleLeft", "mouthDimpleRight",
    "mouthFrownLeft", "mouthFrownRight", "mouthFunnel", "mouthLeft", "mouthLowerDownLeft",
    "mouthLowerDownRight", "mouthPressLeft", "mouthPressRight", "mouthPucker", "mouthRight",
    "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper", "mouthSmileLeft",
    "mouthSmileRight", "mouthStretchLeft", "mouthStretchRight", "mouthUpperUpLeft", "mouthUpperUpRight",
    "noseSneerLeft", "noseSneerRight", "tongueOut",
)  # fmt: skip

VRM1_PRESETS: tuple[str, ...] = (
    "neutral", "aa", "ih", "ou", "ee", "oh", "blink", "blinkLeft", "blinkRight", "happy", "angry", "sad",
    "relaxed", "surprised", "lookUp", "lookDown", "lookLeft", "lookRight",
)  # fmt: skip

# VRM 0.x preset -> VRM 1.0 preset, as the VRM 1.0 migration specifies. Angry, Blink, Neutral and the
# Look* names only change case, which the case-insensitive match already handles.
VRM0_TO_VRM1 = {
    "a": "aa", "i": "ih", "u": "ou", "e": "ee", "o": "oh",
    "blink_l": "blinkLeft", "blink_r": "blinkRight",
    "joy": "happy", "sorrow": "sad", "fun": "relaxed",
}  # fmt: skip

_CANONICAL = {name.lower(): name for name in ARKIT_NAMES + VRM1_PRESETS}
_CANONICAL.update(VRM0_TO_VRM1)
_ARKIT_SET = frozenset(ARKIT_NAMES)
_VRM_SET = frozenset(VRM1_PRESETS)

# The bundled profile that fits each vocabulary (see profiles/*.toml).
ARKIT = "arkit"
VRM = "vrm"


@lru_cache(maxsize=4096)
def normalise_name(name: str) -> str:
    """The one spelling the mapper expects for `name` (see the module docstring)."""
    key = name.strip().lower()
    found = _CANONICAL.get(key)
    if found is not None:
        return found
    # iFacialMocap v1 (and some Perfect Sync senders) spell sides `eyeBlink_L` / `EyeBlink_R`.
    if key.endswith("_l") or key.endswith("_r"):
        side = "left" if key.endswith("_l") else "right"
        found = _CANONICAL.get(key[:-2] + side)
        if found is not None and found in ARKIT_NAMES:
            return found
    return name


def vocabulary(name: str) -> str | None:
    """Which vocabulary a normalised name belongs to: ARKIT (the 52 ARKit / Perfect Sync names), VRM (the
    presets), or None (an avatar's own clip)."""
    if name in _ARKIT_SET:
        return ARKIT
    if name in _VRM_SET:
        return VRM
    return None


class VocabularySeen:
    """Remembers which vocabularies a sender used, so the session can pick the profile that fits.

    Perfect Sync avatars send the ARKit names and usually the VRM presets too; the ARKit names drive the face
    in more detail, so once any is seen the hint is ARKIT for good (a hint that flapped would switch profiles).
    """

    def __init__(self) -> None:
        self._seen: set[str] = set()  # at most {ARKIT, VRM}: bounded whatever the sender sends

    def see(self, name: str) -> None:
        kind = vocabulary(name)
        if kind is not None:
            self._seen.add(kind)

    def hint(self) -> str | None:
        if ARKIT in self._seen:
            return ARKIT
        return VRM if VRM in self._seen else None
