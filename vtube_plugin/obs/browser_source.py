"""`vtube-plugin obs setup --browser-source`: OBS's Browser Source showing `run --output browser`, in the current scene.

Made once, sized to the character, set so OBS never reloads or pauses the page; left alone when it already exists.
OBS builds without a Browser Source (Debian's own package) get a message saying where to get one.
"""

from __future__ import annotations

from vtube_plugin.errors import UserError
from vtube_plugin.sinks.browser import DEFAULT_PORT, SOURCE_NAME

BROWSER_KIND = "browser_source"
DEFAULT_URL = f"http://127.0.0.1:{DEFAULT_PORT}/"
_ALREADY_EXISTS = 601  # obs-websocket's ResourceAlreadyExists

NO_BROWSER_SOURCE = (
    "this OBS has no Browser Source (input kind 'browser_source'): some Linux distributions (Debian's own "
    "obs-studio package among them) build OBS without it. Get an OBS that has it: the official builds from "
    "https://obsproject.com (Windows, macOS), on Ubuntu the official PPA (sudo add-apt-repository "
    "ppa:obsproject/obs-studio && sudo apt install obs-studio), or on any Linux the Flatpak (flatpak install flathub "
    "com.obsproject.Studio). Until then `vtube-plugin obs setup` without --browser-source still sets up expressions, "
    "and --output virtualcam reaches OBS without transparency.")


def browser_settings(url: str, size: tuple[int, int]) -> dict:
    """The Browser Source's settings: our page at the character's size, never shut down or reloaded by OBS."""
    return {"url": url, "width": size[0], "height": size[1],
            "shutdown": False,  # "Shutdown source when not visible": a hidden page would drop its connection
            "restart_when_active": False}  # "Refresh browser when scene becomes active": a reload flashes empty


def has_browser_source(requests) -> bool:
    kinds = requests.send("GetInputKindList", {"unversioned": True}, raw=True)["inputKinds"]
    return BROWSER_KIND in kinds


def setup_browser_source(requests, url: str = DEFAULT_URL, size: tuple[int, int] = (512, 512)) -> list[str]:
    """Add the Browser Source to the current program scene unless OBS has it already; what it did, one line each."""
    from obsws_python.error import OBSSDKRequestError

    if not has_browser_source(requests):
        raise UserError(NO_BROWSER_SOURCE)
    inputs = {i["inputName"]: i["inputKind"] for i in requests.send("GetInputList", raw=True)["inputs"]}
    if SOURCE_NAME in inputs:
        return [f"'{SOURCE_NAME}' is already in OBS; left as it is (its URL and size are yours to change)"]
    scene = requests.send("GetCurrentProgramScene", raw=True)["currentProgramSceneName"]
    try:
        requests.send("CreateInput", {"sceneName": scene, "inputName": SOURCE_NAME, "inputKind": BROWSER_KIND,
                                      "inputSettings": browser_settings(url, size), "sceneItemEnabled": True})
    except OBSSDKRequestError as exc:
        if exc.code != _ALREADY_EXISTS:
            raise
        raise UserError(f"OBS already has a scene named '{SOURCE_NAME}'; rename it so vtube-plugin can add its "
                        "Browser Source") from None
    return [f"added Browser Source '{SOURCE_NAME}' ({size[0]}x{size[1]}, {url}) to scene '{scene}'"]
