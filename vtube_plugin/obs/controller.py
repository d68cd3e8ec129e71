"""The OBS side door: OBS hotkeys and custom events switch expressions; expressions drive OBS back.

Runs on its own thread so rendering never waits for OBS. It reconnects with a growing delay when OBS
is closed or restarts, and says on the console what it is doing (connected, retrying in Ns, wrong password),
each once: a lost connection is one line, and its return another.
A frozen OBS keeps its socket open and answers nothing: a request every `keepalive` seconds notices it.
"""

from __future__ import annotations

import queue
import socket
import sys
import threading
import time
from collections.abc import Callable

from vtube_plugin.errors import UserError
from vtube_plugin.expressions.commands import as_commands
from vtube_plugin.expressions.layer import ACTIONS, ExpressionLayer
from vtube_plugin.obs.connection import ObsUnavailable, is_request_failure, open_events, open_requests
from vtube_plugin.obs.settings import ObsSettings
from vtube_plugin.obs.setup import SCENE, expression_of

# BroadcastCustomEvent {"eventData": {"vtube_plugin": {"expression": ..., "action": ...}}}
CUSTOM_EVENT_KEY = "vtube_plugin"


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class _Lost(Exception):
    """The connection dropped while we were using it (the text, if any, says how)."""


class ObsController:
    """`ObsController(layer, settings).start()`; `close()` stops it. `state` is one of: connecting,
    connected, not-running, wrong-password, no-password, lost, closed.

    What OBS asks for goes through `commands` (the session's command interface, live/commands.py; by default
    one for the layer alone); the layer is read for the presets' OBS actions and their state."""

    def __init__(self, layer: ExpressionLayer, settings: ObsSettings, say: Callable[[str], None] = _say,
                 first_delay: float = 0.5, max_delay: float = 10.0, keepalive: float = 2.0, commands=None):
        self.layer = layer
        self.commands = as_commands(commands if commands is not None else layer)
        self.settings = settings
        self.say = say
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.keepalive = keepalive  # seconds without traffic before we ask OBS something (its answer: settings.timeout)
        self.state = "connecting"
        self.dropped = 0  # custom events we could not use (unknown expression or action)
        self._jobs: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="obs-controller", daemon=True)
        self._requests = None
        self._events = None
        self._item_ids: dict[str, int] = {}  # expression -> scene item id in our scene
        self._item_on: dict[str, bool] = {}
        self._scene_before: dict[str, str] = {}  # expression -> program scene to return to
        self._actions_on: dict[str, bool] = {}  # expression -> its OBS actions are applied
        self._last_report: str | None = None
        self.changed = threading.Condition()  # notified on every state change (tests and status lines wait on it)

    # --- life cycle ---------------------------------------------------------------------------
    def start(self) -> ObsController:
        self.layer.add_listener(self._on_layer_change)
        self._thread.start()
        return self

    def close(self) -> None:
        self.layer.remove_listener(self._on_layer_change)
        self._stop.set()
        self._jobs.put(("stop",))
        self._thread.join(timeout=10)
        self._disconnect()
        self._set_state("closed", None)

    def __enter__(self) -> ObsController:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def wait_for(self, state: str, timeout: float) -> bool:
        """Block until `state` is reached (True) or `timeout` seconds pass (False)."""
        with self.changed:
            return self.changed.wait_for(lambda: self.state == state, timeout)

    # --- the controller thread ----------------------------------------------------------------
    def _run(self) -> None:
        delay = self.first_delay
        reconnecting = False  # after a lost connection: "reconnecting" was said, the retries go quietly
        while not self._stop.is_set():
            try:
                self._connect()
            except ObsUnavailable as exc:
                # Each reason is said once, however many retries it lasts; a wrong password is always said.
                quiet = reconnecting and exc.reason in ("not-running", "lost")
                self._set_state(exc.reason, None if quiet else f"OBS: {exc}; retrying in {delay:g}s, then less "
                                f"often (every {self.max_delay:g}s at most)", key=f"OBS: {exc}")
                self._stop.wait(delay)
                delay = min(delay * 2, self.max_delay)
                continue
            delay = self.first_delay
            reconnecting = False
            how = ""
            try:
                self._serve()
            except _Lost as lost:
                how = f" ({lost})" if str(lost) else ""
            if not self._stop.is_set():  # said before closing: closing a frozen connection can take a while
                self._set_state("lost", f"OBS: lost the connection to {self.settings.address}{how}; reconnecting "
                                "by itself when it is back (hotkeys wait until then)")
                reconnecting = True
            self._disconnect()

    def _connect(self) -> None:
        requests = open_requests(self.settings)
        try:
            events = open_events(self.settings, [self.on_scene_item_enable_state_changed,
                                                 self.on_source_filter_enable_state_changed, self.on_custom_event])
        except ObsUnavailable:
            requests.disconnect()
            raise
        self._requests, self._events = requests, events
        while not self._jobs.empty():  # anything queued while away is covered by the sync below
            self._jobs.get_nowait()
        try:
            version = requests.send("GetVersion", raw=True)
            self._load_items()
            self._sync()
        except Exception as exc:  # noqa: BLE001
            self._disconnect()
            raise ObsUnavailable(f"OBS at {self.settings.address} closed the connection ({type(exc).__name__})",
                                 "lost") from None
        self._set_state("connected", f"OBS: connected to {self.settings.address} (OBS {version['obsVersion']}, "
                                     f"obs-websocket {version['obsWebSocketVersion']})")

    def _disconnect(self) -> None:
        for client in (self._events, self._requests):
            if client is None:
                continue
            # Not close(): it waits for OBS to answer the close frame, which a frozen OBS never does.
            # Shutting the socket down both ways also wakes the event thread blocked in its receive.
            ws = client.base_client.ws
            try:
                ws.sock.shutdown(socket.SHUT_RDWR)
            except Exception:  # noqa: BLE001 - already closed, or never opened
                pass
            try:
                ws.shutdown()
            except Exception:  # noqa: BLE001 - closing a dead socket
                pass
        if self._events is not None and self._events.worker is not threading.current_thread():
            self._events.worker.join(timeout=2)
        self._events = self._requests = None

    def _serve(self) -> None:
        last_heard = time.monotonic()
        while not self._stop.is_set():
            if not self._events.worker.is_alive():
                raise _Lost()
            try:
                job = self._jobs.get(timeout=0.2)
            except queue.Empty:
                if time.monotonic() - last_heard >= self.keepalive:
                    self._still_there()
                    last_heard = time.monotonic()
                continue
            kind, *args = job
            if kind == "stop":
                return
            try:
                getattr(self, f"_handle_{kind}")(*args)
            except _Lost:
                raise
            except (OSError, ConnectionError) as exc:  # websocket-client's closed-socket errors are OSErrors
                raise _Lost() from exc
            except Exception as exc:  # noqa: BLE001 - one bad event must not stop the controller
                if type(exc).__module__.startswith("websocket"):
                    raise _Lost() from exc
                self.say(f"OBS: could not handle {kind} event: {type(exc).__name__}: {exc}")

    def _still_there(self) -> None:
        """One cheap request; no answer within settings.timeout means OBS is frozen or gone."""
        try:
            self._requests.send("GetVersion", raw=True)
        except Exception as exc:  # noqa: BLE001
            if is_request_failure(exc):
                return  # it answered, even if with a refusal
            timed_out = "Timeout" in type(exc).__name__ or "timed out" in str(exc)  # obsws: OBSSDKTimeoutError
            raise _Lost(f"no answer within {self.settings.timeout:g} s" if timed_out else type(exc).__name__) from None

    def _set_state(self, state: str, message: str | None, key: str | None = None) -> None:
        """`message` is said unless the last one said had the same `key` (the message itself by default)."""
        with self.changed:
            self.state = state
            self.changed.notify_all()
        key = key or message
        if message is not None and key != self._last_report:
            self._last_report = key
            self.say(message)

    # --- OBS -> plugin (callbacks run on obsws-python's event thread: queue, never block) -----
    def on_scene_item_enable_state_changed(self, data) -> None:
        self._jobs.put(("item", data.scene_name, data.scene_item_id, data.scene_item_enabled))

    def on_source_filter_enable_state_changed(self, data) -> None:
        self._jobs.put(("filter", data.filter_name, data.filter_enabled))

    def on_custom_event(self, data) -> None:
        self._jobs.put(("custom", getattr(data, CUSTOM_EVENT_KEY, None)))

    def _handle_item(self, scene: str, item_id: int, enabled: bool) -> None:
        if scene != SCENE:
            return
        name = next((n for n, i in self._item_ids.items() if i == item_id), None)
        if name is None:  # created after we connected (obs setup while running)
            self._load_items()
            name = next((n for n, i in self._item_ids.items() if i == item_id), None)
        if name is None:
            return
        self._item_on[name] = enabled
        self._follow(name, enabled)

    def _handle_filter(self, filter_name: str, enabled: bool) -> None:
        name = expression_of(filter_name)
        if name is not None and name in self.layer.presets:
            self._follow(name, enabled)

    def _follow(self, name: str, on: bool) -> None:
        # Only a difference from the layer acts: our own mirrored changes come back as events and stop here.
        if on != self.layer.is_active(name):
            self._switch(name, "trigger" if on else "release")

    def _switch(self, name: str, action: str) -> None:
        try:
            self.commands.run("set_expression", {"name": name, "action": action})
        except UserError as err:
            self.dropped += 1
            self.say(f"OBS: {err}")

    def _handle_custom(self, payload) -> None:
        if payload is None:
            return  # someone else's custom event
        if not isinstance(payload, dict) or not isinstance(payload.get("expression"), str):
            self.dropped += 1
            self.say(f'OBS: ignored a custom event: expected {{"{CUSTOM_EVENT_KEY}": {{"expression": "happy", '
                     f'"action": "trigger"}}}}')
            return
        name, action = payload["expression"], payload.get("action", "trigger")
        if name not in self.layer.presets or action not in ACTIONS:
            self.dropped += 1
            self.say(f"OBS: ignored a custom event: expression {name!r} with action {action!r} "
                     f"(expressions: {', '.join(self.layer.presets)}; actions: {', '.join(ACTIONS)})")
            return
        self._switch(name, action)

    # --- plugin -> OBS ------------------------------------------------------------------------
    def _on_layer_change(self, name: str, on: bool) -> None:
        self._jobs.put(("layer", name, on))

    def _handle_layer(self, name: str, on: bool) -> None:
        # Act on the layer's state now, not on the news: notices from two threads can arrive out of order.
        on = self.layer.is_active(name)
        self._mirror(name, on)
        if self._actions_on.get(name, False) != on:
            self._actions_on[name] = on
            self._run_actions(name, on)

    def _mirror(self, name: str, on: bool) -> None:
        """Keep the hotkey item's visibility equal to the expression, so OBS's next Show or Hide acts."""
        item_id = self._item_ids.get(name)
        if item_id is None or self._item_on.get(name) == on:
            return
        self._item_on[name] = on
        self._send("SetSceneItemEnabled", {"sceneName": SCENE, "sceneItemId": item_id, "sceneItemEnabled": on}, name)

    def _run_actions(self, name: str, on: bool) -> None:
        actions = self.layer.presets[name].obs
        if not actions:
            return
        if actions.scene:
            current = self._send("GetCurrentProgramScene", None, name)
            current = current and current["currentProgramSceneName"]
            if on and current and current != actions.scene:
                self._scene_before.setdefault(name, current)
                self._send("SetCurrentProgramScene", {"sceneName": actions.scene}, name)
            elif not on:
                before = self._scene_before.pop(name, None)
                if before and current == actions.scene:  # the user has not moved on since: go back
                    self._send("SetCurrentProgramScene", {"sceneName": before}, name)
        for ref, show in [(r, on) for r in actions.show] + [(r, not on) for r in actions.hide]:
            found = self._send("GetSceneItemId", {"sceneName": ref.scene, "sourceName": ref.source}, name)
            if found:
                self._send("SetSceneItemEnabled", {"sceneName": ref.scene, "sceneItemId": found["sceneItemId"],
                                                   "sceneItemEnabled": show}, name)
        for ref in actions.filters:
            self._send("SetSourceFilterEnabled", {"sourceName": ref.source, "filterName": ref.filter,
                                                  "filterEnabled": on}, name)

    def _send(self, request: str, data: dict | None, expression: str) -> dict | None:
        """One request; a refusal (missing scene ...) is reported and skipped, a dropped socket ends the session."""
        if self._requests is None:
            raise _Lost()
        try:
            return self._requests.send(request, data, raw=True) or {}
        except Exception as exc:  # noqa: BLE001
            if not is_request_failure(exc):
                raise _Lost() from None
            self.say(f"OBS: expression '{expression}': {request} failed ({exc}); check its obs actions in the "
                     "presets file")
            return None

    def _load_items(self) -> None:
        from obsws_python.error import OBSSDKRequestError

        try:
            items = self._requests.send("GetSceneItemList", {"sceneName": SCENE}, raw=True)["sceneItems"]
        except OBSSDKRequestError:
            items = []  # `vtube-plugin obs setup` has not been run: custom events still work
            self.say(f"OBS: no scene '{SCENE}' yet; run `vtube-plugin obs setup` to get hotkey items")
        self._item_ids, self._item_on = {}, {}
        for item in items:
            name = expression_of(item["sourceName"])
            if name in self.layer.presets:
                self._item_ids[name] = item["sceneItemId"]
                self._item_on[name] = item["sceneItemEnabled"]

    def _sync(self) -> None:
        """After (re)connecting the layer is the truth: show items of active expressions, hide the others."""
        active = set(self.layer.active())
        for name in self._item_ids:
            self._mirror(name, name in active)
        self._actions_on = {}  # OBS may have restarted: apply again what should be on
        for name in active:
            self._actions_on[name] = True
            self._run_actions(name, True)
