"""Idle life on its own, on a seeded clock over minutes of frames: blinks at the configured rate and never
lost on a slow machine, breathing cycles, sway inside its amplitude; and with the real mapper and TrackedPose,
what a tracker drives wins while what it never sends is filled in, and lost tracking fades idle life in.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from vtube_plugin.errors import UserError
from vtube_plugin.expressions.idle import IdleLife
from vtube_plugin.expressions.idle_settings import (
    BlinkSettings,
    IdleSettings,
    load_idle_settings,
    shipped_idle_path,
)
from vtube_plugin.live.tracking import TrackedPose
from vtube_plugin.mapping.mapper import Mapper
from vtube_plugin.mapping.profile import load_profile
from vtube_plugin.pose import Pose
from vtube_plugin.sources.frame import FaceFrame


def run(life: IdleLife, seconds: float, fps: float, tracked=None) -> list[dict[str, float]]:
    """The poses idle life gives over `seconds` at `fps` (over the neutral pose, or over `tracked(now)`)."""
    out = []
    for i in range(int(seconds * fps)):
        now = 100.0 + i / fps
        out.append(life.apply(tracked(now) if tracked else Pose(), now).to_dict())
    return out


def blinks(poses: list[dict[str, float]]) -> int:
    """How many times both eyes went fully shut (from open)."""
    count, shut = 0, False
    for p in poses:
        closed = p["eye_wink_left"] >= 0.999 and p["eye_wink_right"] >= 0.999
        if closed and not shut:
            count += 1
        shut = closed if closed or p["eye_wink_left"] < 0.1 else shut
    return count


def test_the_shipped_settings_are_the_defaults():
    assert replace(load_idle_settings(shipped_idle_path()), seed=None) == IdleSettings()


def test_blinks_come_at_the_configured_rate_and_close_both_eyes_fully():
    settings = replace(IdleSettings(seed=4), blink=BlinkSettings(interval=(3.0, 3.0), duration=(0.2, 0.2),
                                                                 double_chance=0.0))
    poses = run(IdleLife(settings), 120.0, 30.0)
    # One blink every 3 s + 0.2 s of blinking, the first after 3 s: 37 in two minutes.
    assert blinks(poses) == 37
    assert max(p["eye_wink_left"] for p in poses) == 1.0
    assert all(p["eye_wink_left"] == p["eye_wink_right"] for p in poses)


def test_default_blinks_every_2_to_6_seconds_with_some_double_blinks():
    life = IdleLife(IdleSettings(seed=11))
    poses = run(life, 300.0, 60.0)
    starts = [i / 60.0 for i in range(1, len(poses))
              if poses[i]["eye_wink_left"] > 0.0 and poses[i - 1]["eye_wink_left"] == 0.0]
    gaps = np.diff(starts)
    doubles = gaps[gaps < 1.0]
    assert len(starts) == blinks(poses)  # every blink that started closed the eyes fully
    assert 300 / 6.25 < len(starts) < 300 / 2.1 * 1.3
    assert np.all((gaps < 0.5) | ((gaps > 2.0) & (gaps < 6.3)))  # each wait in 2..6 s, or a double blink
    assert 0 < len(doubles) < 0.35 * len(gaps)


@pytest.mark.parametrize("fps", [2.0, 4.0, 7.0])
def test_a_slow_renderer_still_shows_every_blink_closed(fps):
    """At a few frames a second a 0.1-0.25 s blink falls between two frames; it must still be shown shut."""
    settings = replace(IdleSettings(seed=5), blink=BlinkSettings(interval=(3.0, 3.0), double_chance=0.0))
    life = IdleLife(settings)
    poses = run(life, 120.0, fps)
    assert life.blinker.blinks >= 120 / (3.0 + 0.25 + 2 / fps) - 1
    assert blinks(poses) == life.blinker.blinks


def test_breathing_cycles_every_3_to_5_seconds_slightly_irregularly():
    life = IdleLife(IdleSettings(seed=2))
    poses = run(life, 120.0, 30.0)
    breathing = np.array([p["breathing"] for p in poses])
    assert breathing.min() == pytest.approx(0.0, abs=1e-3) and breathing.max() == pytest.approx(1.0, abs=1e-3)
    tops = [i for i in range(1, len(breathing) - 1) if breathing[i - 1] < breathing[i] >= breathing[i + 1]]
    periods = np.diff(tops) / 30.0
    assert 120 / 5 - 1 <= len(tops) <= 120 / 3 + 1
    assert np.all((periods > 2.9) & (periods < 5.1))
    assert periods.std() > 0.1  # not a metronome


def test_sway_and_eye_drift_stay_inside_their_amplitude_and_do_move():
    settings = IdleSettings(seed=8)
    poses = run(IdleLife(settings), 120.0, 30.0)
    for part in (settings.sway, settings.eyes):
        for name, amplitude in part.amplitude.items():
            values = np.array([p[name] for p in poses])
            assert np.abs(values).max() <= amplitude + 1e-6, name
            assert np.abs(values).max() > 0.4 * amplitude, name  # it moves visibly
            assert np.abs(np.diff(values)).max() < amplitude, name  # smoothly: no jumps between frames


def test_the_same_seed_gives_the_same_life_and_parts_switch_off():
    a, b = run(IdleLife(IdleSettings(seed=3)), 20.0, 30.0), run(IdleLife(IdleSettings(seed=3)), 20.0, 30.0)
    assert a == b
    off = IdleSettings(seed=3, blink=BlinkSettings(enabled=False), sway=replace(IdleSettings().sway, enabled=False))
    quiet = run(IdleLife(off), 20.0, 30.0)
    assert all(p["eye_wink_left"] == 0.0 and p["head_y"] == 0.0 for p in quiet)
    assert max(p["breathing"] for p in quiet) > 0.9  # breathing still on


def vmc_frames(blendshapes: dict[str, float]):
    return lambda now: FaceFrame(timestamp=now, blendshapes=dict(blendshapes))


def test_a_sender_of_the_mouth_only_gets_blinks_breathing_and_sway_and_keeps_its_mouth():
    mapper = Mapper(load_profile("vrm"))
    tracked = TrackedPose(mapper, lost_after=0.75, ease_seconds=0.5)
    life = IdleLife(IdleSettings(seed=6), tracking=tracked)
    frame = vmc_frames({"A": 0.6})
    poses = run(life, 30.0, 30.0, tracked=lambda now: tracked(frame(now), now))
    assert mapper.driven == {"mouth_aaa"}
    later = poses[30:]  # tracking has eased in
    assert all(p["mouth_aaa"] == pytest.approx(0.6, abs=1e-4) for p in later)  # the tracker's mouth, untouched
    assert blinks(later) >= 30 / 6.5 - 1
    assert max(p["breathing"] for p in later) > 0.9
    assert max(abs(p["head_y"]) for p in later) > 0.02


def test_what_the_tracker_drives_wins_until_tracking_is_lost_and_idle_life_fades_in():
    mapper = Mapper(load_profile("vrm"))
    tracked = TrackedPose(mapper, lost_after=0.75, ease_seconds=0.5)
    settings = replace(IdleSettings(seed=9), blink=BlinkSettings(interval=(1.0, 1.5), double_chance=0.0))
    life = IdleLife(settings, tracking=tracked)
    frame = vmc_frames({"A": 0.6, "Blink": 0.0})  # a sender that drives the eyes (open) and the mouth
    lost_at = 100.0 + 20.0

    weights = []

    def source(now):
        pose = tracked(frame(now) if now < lost_at else frame(lost_at), now)
        weights.append(tracked.weight)
        return pose

    poses = run(life, 40.0, 30.0, tracked=source)
    tracked_part, lost_part = poses[30:20 * 30], poses[(20 + 2) * 30:]
    assert {"eye_wink_left", "eye_wink_right", "mouth_aaa"} <= mapper.driven
    assert all(p["eye_wink_left"] == 0.0 for p in tracked_part)  # the tracked open eyes win: no idle blinks
    assert max(p["breathing"] for p in tracked_part) > 0.9  # never sent by a tracker: always idle
    assert blinks(lost_part) >= 18 / 1.75 - 1  # lost: idle blinks are back, fully
    assert all(p["mouth_aaa"] == 0.0 for p in lost_part)  # and the tracked mouth has eased away
    # The hand-over is an ease, not a switch: after --lost-after the tracked share falls over 0.5 s, and
    # idle blinks get the rest of it.
    handover = weights[20 * 30:22 * 30]
    assert handover[0] == 1.0 and handover[-1] == 0.0 and handover == sorted(handover, reverse=True)
    assert 0.4 * 30 <= sum(0.0 < w < 1.0 for w in handover) <= 0.6 * 30
    for w, p in zip(handover, poses[20 * 30:22 * 30]):
        assert p["eye_wink_left"] <= 1.0 - w + 1e-6


@pytest.mark.parametrize("text, message", [
    ("[blink]\ninterval = [6, 2]\n", "[blink] interval: must be [shortest, longest] seconds"),
    ("[blink]\nintervall = [2, 6]\n", "[blink] intervall: unknown key. Did you mean interval?"),
    ("[breathing]\namount = nan\n", "[breathing] amount: must be a number from 0 to 1"),
    ("[sway]\namplitude = { head_z = 0.1 }\n", "[sway] amplitude.head_z: idle sway does not move it"),
    ("[eyes]\nenabled = \"yes\"\n", "[eyes] enabled: must be true or false"),
    ("seed = -1\n", "[top level] seed: must be a whole number"),
    ("[blink\n", "is not valid TOML"),
])
def test_mistakes_in_the_settings_file_are_clear(tmp_path, text, message):
    path = tmp_path / "idle.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UserError) as err:
        load_idle_settings(path)
    assert message in str(err.value) and str(path) in str(err.value)
