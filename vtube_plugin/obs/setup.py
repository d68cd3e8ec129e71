"""`vtube-plugin obs setup`: one hideable item per expression in the user's OBS, for OBS's own hotkeys.

OBS sends no "hotkey pressed" event, but it does announce when a scene item is shown or hidden, and every
scene item gets "Show '...'" / "Hide '...'" hotkeys in File > Settings > Hotkeys. So each expression gets a
tiny transparent colour source named `expression: NAME` in a scene of ours. Running it again changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from vtube_plugin.errors import UserError

SCENE = "vtube-plugin expressions"
ITEM_PREFIX = "expression: "
_ALREADY_EXISTS = 601  # obs-websocket's ResourceAlreadyExists


def item_name(expression: str) -> str:
    return f"{ITEM_PREFIX}{expression}"


def expression_of(item: str) -> str | None:
    """`expression: happy` -> `happy`; None for anyone else's source or filter."""
    return item[len(ITEM_PREFIX):] if item.startswith(ITEM_PREFIX) else None


def setup_expressions(requests, expressions: Iterable[str]) -> list[str]:
    """Make the scene and the items that are missing; returns what it did, one line each."""
    from obsws_python.error import OBSSDKRequestError

    done: list[str] = []
    scenes = {s["sceneName"] for s in requests.send("GetSceneList", raw=True)["scenes"]}
    if SCENE not in scenes:
        requests.send("CreateScene", {"sceneName": SCENE})
        done.append(f"created scene '{SCENE}'")
    items = {i["sourceName"] for i in requests.send("GetSceneItemList", {"sceneName": SCENE}, raw=True)["sceneItems"]}
    inputs = {i["inputName"] for i in requests.send("GetInputList", raw=True)["inputs"]}
    for name in expressions:
        source = item_name(name)
        if source in items:
            done.append(f"'{source}' is already there")
            continue
        if source in inputs:  # the source exists (the user moved or deleted its item): put it back in our scene
            requests.send("CreateSceneItem", {"sceneName": SCENE, "sourceName": source, "sceneItemEnabled": False})
            done.append(f"added existing source '{source}' to '{SCENE}'")
            continue
        try:
            requests.send("CreateInput", {
                "sceneName": SCENE, "inputName": source, "inputKind": "color_source_v3",
                # 2x2 and fully transparent: invisible even if someone adds this scene to a live one.
                "inputSettings": {"color": 0, "width": 2, "height": 2}, "sceneItemEnabled": False})
        except OBSSDKRequestError as exc:
            if exc.code != _ALREADY_EXISTS:
                raise
            # Not an input (checked above), so a scene holds the name: scenes and inputs share one namespace.
            raise UserError(f"OBS already has a scene named '{source}'; rename it so vtube-plugin can create "
                            "its source") from None
        done.append(f"created '{source}' (hidden)")
    return done
