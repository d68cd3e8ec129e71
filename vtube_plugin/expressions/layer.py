"""The expression layer: hotkey presets (happy, angry ...) blended over the tracked pose, once per frame.

Triggers come from OBS, the keyboard, the console and the control channel on their own threads; the run
loop calls `apply(pose, now)` after the mapper. Each expression has a weight that ramps continuously, so
switching mid-fade never jumps. The blend rule is in docs/expressions.md and `ExpressionLayer.apply`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from vtube_plugin.errors import UserError
from vtube_plugin.expressions.presets import (  # re-exported: one import for users of the layer
    MODES,
    Expression,
    ObsActions,
    load_presets,
    parse_presets,
)
from vtube_plugin.pose import MAXIMUM, MINIMUM, Pose, smoothstep  # smoothstep re-exported: the fade curve
from vtube_plugin.profile_files import default_presets_path, shipped_presets_path  # re-exported too

__all__ = ["ACTIONS", "MODES", "Expression", "ExpressionLayer", "ObsActions", "default_presets_path", "load_presets",
           "parse_presets", "shipped_presets_path", "smoothstep"]

Listener = Callable[[str, bool], None]  # (expression name, now on?) called on every on/off change
# What any input (console, control channel, OBS custom events) may ask of an expression: the methods below.
ACTIONS = ("trigger", "release", "toggle", "press")


@dataclass
class _State:
    """An expression's weight is piecewise linear: `w0` at time `t0`, then ramping up (on) or down (off)."""

    on: bool = False
    w0: float = 0.0
    t0: float | None = None  # None: changed before the first frame; pinned to that frame's time
    order: int = 0  # stacking order among equal priorities; renewed only when starting from weight 0
    ends_at: float | None = None  # one-shots: when they switch themselves off


class ExpressionLayer:
    """Named expressions layered over the tracked pose. Every public method is thread-safe."""

    def __init__(self, presets: Mapping[str, Expression]):
        if not presets:
            raise UserError("no expressions to use: the presets file defines none")
        self.presets: dict[str, Expression] = dict(presets)
        self._states = {name: _State() for name in self.presets}
        self._lock = threading.Lock()
        self._now: float | None = None  # the last frame's time: changes take effect from it
        self._order = 0
        self._listeners: list[Listener] = []
        self._services: list = []

    # --- inputs (any thread) ------------------------------------------------------------------
    def trigger(self, name: str) -> None:
        """Switch on (a one-shot restarts its duration). Exclusive expressions switch other exclusive ones off."""
        self._switch(name, lambda on: True)

    def release(self, name: str) -> None:
        """Switch off: it fades out from whatever weight it has now."""
        self._switch(name, lambda on: False)

    def toggle(self, name: str) -> None:
        self._switch(name, lambda on: not on)

    def press(self, name: str) -> None:
        """A key press with no key-up to follow (console line, OBS Show, Stream Deck button): one-shots
        start, toggle and hold expressions flip."""
        if self._expression(name).mode == "one-shot":
            self.trigger(name)
        else:
            self.toggle(name)

    def release_all(self) -> None:
        with self._lock:
            changes = [c for name in self._states for c in self._set(name, False)]
        self._notify(changes)

    def add_preset(self, expression: Expression) -> None:
        """A preset saved while streaming (the studio's New preset), switched off, usable from now on."""
        with self._lock:
            if expression.name in self.presets:
                raise UserError(f"there is an expression named '{expression.name}' already")
            self.presets[expression.name] = expression
            self._states[expression.name] = _State()

    # --- queries ------------------------------------------------------------------------------
    def is_active(self, name: str) -> bool:
        self._expression(name)
        return name in self.active()

    def active(self) -> list[str]:
        """Expressions that are on, bottom layer first (the last one wins where they overlap)."""
        with self._lock:
            changes = self._expire(self._now)
            names = [n for n in self._stack() if self._states[n].on]
        self._notify(changes)
        return names

    def weights(self, now: float) -> dict[str, float]:
        """Each expression's fade weight 0..1 at `now` (before the smoothstep curve and strength)."""
        with self._lock:
            changes = self._expire(now)
            weights = {n: self._weight(n, now) for n in self._states}
        self._notify(changes)
        return weights

    # --- the frame (render thread) ------------------------------------------------------------
    def apply(self, pose: Pose, now: float) -> Pose:
        """The tracked pose with the expressions layered on at time `now` (seconds, any clock, increasing).

        Bottom to top by (priority, order switched on): each expression with blend weight b moves the
        parameters it owns a fraction b of the way from what is below to its targets, then adds b times
        its offsets. Parameters it does not own (other groups, its `keep` mask) pass through untouched.
        """
        with self._lock:
            if self._now is None:
                for state in self._states.values():
                    if state.t0 is None:
                        state.t0 = now
                        if state.ends_at is not None:
                            state.ends_at += now
            self._now = now if self._now is None else max(now, self._now)
            changes = self._expire(self._now)
            layers = [(self.presets[n], self._weight(n, self._now)) for n in self._stack()]
        self._notify(changes)

        values = pose.as_array()
        for expr, weight in layers:
            if weight <= 0.0:
                continue
            b = np.float32(smoothstep(weight) * expr.strength)
            values = np.where(expr.owned, values + (expr.targets - values) * b, values)
            values = values + expr.offsets * b
        return Pose(np.clip(values, MINIMUM, MAXIMUM))

    # --- listeners and attached services ------------------------------------------------------
    def add_listener(self, listener: Listener) -> None:
        """`listener(name, on)` runs on the thread that caused the change; keep it short (queue work)."""
        with self._lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def attach(self, service) -> None:
        """Something to `close()` with the layer (the OBS controller, the control server, key input)."""
        self._services.append(service)

    def close(self) -> None:
        while self._services:
            self._services.pop().close()

    def __enter__(self) -> ExpressionLayer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- internals (called with the lock held) ------------------------------------------------
    def _expression(self, name: str) -> Expression:
        expr = self.presets.get(name)
        if expr is None:
            raise UserError(f"unknown expression '{name}'; known: {', '.join(self.presets)}")
        return expr

    def _stack(self) -> list[str]:
        return sorted(self._states, key=lambda n: (self.presets[n].priority, self._states[n].order))

    def _weight(self, name: str, now: float | None) -> float:
        state, expr = self._states[name], self.presets[name]
        if state.t0 is None or now is None:
            return state.w0
        fade = expr.fade_in if state.on else expr.fade_out
        step = 1.0 if fade == 0.0 else max(0.0, now - state.t0) / fade
        return min(1.0, state.w0 + step) if state.on else max(0.0, state.w0 - step)

    def _switch(self, name: str, decide: Callable[[bool], bool]) -> None:
        """Decide and switch under one lock hold, so racing toggles from two threads never get lost."""
        expr = self._expression(name)
        with self._lock:
            changes = self._expire(self._now)
            on = decide(self._states[name].on)
            if on and expr.exclusive:
                for other, state in self._states.items():
                    if other != name and state.on and self.presets[other].exclusive:
                        changes += self._set(other, False)
            changes += self._set(name, on)
        self._notify(changes)

    def _set(self, name: str, on: bool) -> list[tuple[str, bool]]:
        state = self._states[name]
        expr = self.presets[name]
        now = self._now
        restart = on and expr.mode == "one-shot"
        if state.on == on and not restart:
            return []
        weight = self._weight(name, now)
        if on and weight <= 0.0:
            # Restacking is safe only while invisible; a returning expression keeps its place, so nothing jumps.
            self._order += 1
            state.order = self._order
        was_on = state.on
        state.on, state.w0, state.t0 = on, weight, now
        state.ends_at = None
        if restart:
            state.ends_at = (now or 0.0) + float(expr.duration or 0.0)
        return [] if was_on == on else [(name, on)]

    def _expire(self, now: float | None) -> list[tuple[str, bool]]:
        if now is None:
            return []
        changes = []
        for name, state in self._states.items():
            if state.on and state.ends_at is not None and now >= state.ends_at:
                # Switch off at the moment it ended, not at this frame, so the fade-out is on time.
                end = state.ends_at
                state.w0, state.t0 = self._weight(name, end), end
                state.on, state.ends_at = False, None
                changes.append((name, False))
        return changes

    def _notify(self, changes: Iterable[tuple[str, bool]]) -> None:
        changes = list(changes)
        if not changes:
            return
        with self._lock:
            listeners = list(self._listeners)
        for name, on in changes:
            for listener in listeners:
                listener(name, on)
