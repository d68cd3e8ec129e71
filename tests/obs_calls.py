"""The password of the tests' headless OBS (the `obs` fixture in conftest.py) and the obs-websocket calls tests
make to it, as a user's OBS or a script would.

Needs `apt-get install obs-studio xvfb`; `needs_obs` skips a module only where `obs` is missing.
"""

from __future__ import annotations

import secrets

import pytest
from headless_obs import HeadlessObs

obsws = pytest.importorskip("obsws_python")
needs_obs = pytest.mark.skipif(not HeadlessObs.installed(),
                               reason="OBS Studio is not installed (apt-get install -y obs-studio xvfb)")

PASSWORD = "pw-" + secrets.token_hex(8)
SCENE = "vtube-plugin expressions"  # what `vtube-plugin obs setup` creates


def requests(obs: HeadlessObs):
    return obsws.ReqClient(host="127.0.0.1", port=obs.port, password=PASSWORD, timeout=5)


def call(obs: HeadlessObs, request: str, data: dict | None = None) -> dict:
    client = requests(obs)
    try:
        return client.send(request, data, raw=True) or {}
    finally:
        client.disconnect()


def item_id(obs: HeadlessObs, expression: str) -> int:
    return call(obs, "GetSceneItemId", {"sceneName": SCENE, "sourceName": f"expression: {expression}"})["sceneItemId"]


def set_item(obs: HeadlessObs, expression: str, enabled: bool) -> None:
    """What OBS does when the user presses the Show / Hide hotkey bound to the item."""
    call(obs, "SetSceneItemEnabled", {"sceneName": SCENE, "sceneItemId": item_id(obs, expression),
                                      "sceneItemEnabled": enabled})
