"""The expression layer: fades, modes, masks, who wins, no jumps when switching, and preset errors."""

from __future__ import annotations

import random
import sys
import threading

import numpy as np
import pytest

from vtube_plugin.errors import UserError
from vtube_plugin.expressions.layer import (
    ExpressionLayer,
    load_presets,
    parse_presets,
    shipped_presets_path,
    smoothstep,
)
from vtube_plugin.pose import Pose

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PRESETS = """
[happy]
fade_in = 0.4
fade_out = 0.8
keep = ["blink", "lip_sync"]
pose = { mouth_raised_corner = 1.0, eyebrow_happy = 1.0 }

[sad]
fade_in = 0.2
fade_out = 0.2
pose = { mouth_lowered_corner = 1.0, eyebrow_troubled = 1.0 }

[shout]
mode = "one-shot"
duration = 1.0
fade_in = 0.1
fade_out = 0.5
pose = { mouth_aaa = 1.0 }

[peek]
mode = "hold"
fade_in = 0
fade_out = 0
pose = { iris_rotation_x = 0.8 }
offset = { head_x = -0.25 }

[grin]
priority = 1
fade_in = 0.2
fade_out = 0.2
pose = { mouth_raised_corner = 0.3 }
"""

TRACKED = Pose.from_dict({"mouth_aaa": 0.6, "mouth_ooo": 0.3, "eye_wink_left": 1.0, "head_y": 0.4, "head_x": 0.1})


def layer_from(text: str = PRESETS) -> ExpressionLayer:
    layer = ExpressionLayer(parse_presets(tomllib.loads(text)))
    layer.apply(TRACKED, 0.0)  # the first frame sets the clock
    return layer


def frames(layer: ExpressionLayer, start: float, end: float, step: float = 0.02, pose: Pose = TRACKED):
    """What the run loop does: apply once per frame; yields (time, pose)."""
    t = start
    while t <= end + 1e-9:
        yield t, layer.apply(pose, t)
        t = round(t + step, 6)


def test_fade_in_reaches_half_the_target_at_half_the_fade_time():
    layer = layer_from()
    layer.trigger("happy")
    assert layer.apply(TRACKED, 0.2)["mouth_raised_corner_left"] == pytest.approx(0.5, abs=1e-6)
    assert layer.apply(TRACKED, 0.1)["eyebrow_happy_right"] == pytest.approx(0.5, abs=1e-6)  # time never runs back
    assert layer.apply(TRACKED, 0.3)["eyebrow_happy_right"] == pytest.approx(smoothstep(0.75), abs=1e-6)
    assert layer.apply(TRACKED, 0.4)["mouth_raised_corner_right"] == pytest.approx(1.0)


def test_the_curve_is_smoothstep_not_linear():
    layer = layer_from()
    layer.trigger("happy")
    assert layer.apply(TRACKED, 0.1)["mouth_raised_corner_left"] == pytest.approx(0.15625, abs=1e-6)


def test_release_fades_back_to_tracking_over_fade_out():
    layer = layer_from()
    layer.trigger("happy")
    layer.apply(TRACKED, 1.0)
    layer.release("happy")
    assert layer.apply(TRACKED, 1.4)["mouth_raised_corner_left"] == pytest.approx(0.5, abs=1e-6)
    assert layer.apply(TRACKED, 1.8) == TRACKED


def test_toggle_hold_and_press():
    layer = layer_from()
    layer.toggle("happy")
    assert layer.active() == ["happy"]
    layer.press("happy")  # a key press flips a toggle expression
    assert layer.active() == []
    layer.trigger("peek")
    assert layer.is_active("peek")
    layer.trigger("peek")  # a second key-down (auto-repeat) changes nothing
    assert layer.active() == ["peek"]
    layer.release("peek")
    assert layer.active() == []


def test_hold_with_zero_fades_switches_at_once_and_offsets_add_to_tracking():
    layer = layer_from()
    layer.trigger("peek")
    pose = layer.apply(TRACKED, 0.02)
    assert pose["iris_rotation_x"] == pytest.approx(0.8)
    assert pose["head_x"] == pytest.approx(0.1 - 0.25)  # tracked head still moves under the offset
    layer.release("peek")
    assert layer.apply(TRACKED, 0.04) == TRACKED


def test_one_shot_runs_for_its_duration_then_fades_out_by_itself():
    layer = layer_from()
    changes: list[tuple[str, bool]] = []
    layer.add_listener(lambda name, on: changes.append((name, on)))
    layer.trigger("shout")
    poses = dict(frames(layer, 0.02, 1.8))
    assert poses[0.1]["mouth_aaa"] == pytest.approx(1.0)
    assert poses[1.0]["mouth_aaa"] == pytest.approx(1.0)
    assert poses[1.26]["mouth_aaa"] == pytest.approx(0.6 + 0.4 * smoothstep(1 - 0.26 / 0.5), abs=1e-5)
    assert poses[1.5]["mouth_aaa"] == pytest.approx(0.6)  # back to tracked lip sync
    assert changes == [("shout", True), ("shout", False)]
    assert layer.active() == []


def test_one_shot_triggered_again_restarts_its_duration():
    layer = layer_from()
    layer.trigger("shout")
    layer.apply(TRACKED, 0.8)
    layer.trigger("shout")
    assert layer.apply(TRACKED, 1.7)["mouth_aaa"] == pytest.approx(1.0)
    assert layer.is_active("shout")


def test_a_mask_passes_tracking_through_and_the_rest_of_the_group_is_taken_over():
    layer = layer_from()
    layer.trigger("happy")
    pose = layer.apply(TRACKED, 1.0)
    assert pose["mouth_aaa"] == pytest.approx(0.6)  # kept: lip sync
    assert pose["eye_wink_left"] == pytest.approx(1.0)  # kept: blinking (eye group is not happy's anyway)
    assert pose["mouth_ooo"] == pytest.approx(0.3)  # kept: lip_sync covers ooo
    assert pose["head_y"] == pytest.approx(0.4)  # another group: untouched

    layer = layer_from()
    layer.trigger("sad")  # no keep: sad owns the whole mouth group
    pose = layer.apply(TRACKED, 1.0)
    assert pose["mouth_aaa"] == 0.0 and pose["mouth_ooo"] == 0.0
    assert pose["mouth_lowered_corner_left"] == pytest.approx(1.0)


def test_most_recent_wins_at_equal_priority_and_the_one_below_returns():
    layer = layer_from()
    layer.trigger("happy")
    layer.apply(TRACKED, 1.0)
    layer.trigger("sad")
    pose = layer.apply(TRACKED, 2.0)
    assert layer.active() == ["happy", "sad"]
    assert pose["mouth_raised_corner_left"] == 0.0 and pose["mouth_lowered_corner_left"] == pytest.approx(1.0)
    layer.release("sad")
    assert layer.apply(TRACKED, 3.0)["mouth_raised_corner_left"] == pytest.approx(1.0)


def test_higher_priority_wins_even_when_older():
    layer = layer_from()
    layer.trigger("grin")
    layer.apply(TRACKED, 1.0)
    layer.trigger("happy")
    assert layer.apply(TRACKED, 2.0)["mouth_raised_corner_left"] == pytest.approx(0.3)
    assert layer.active() == ["happy", "grin"]


def test_exclusive_expressions_switch_each_other_off():
    layer = layer_from(PRESETS.replace("[happy]", "[happy]\nexclusive = true")
                       .replace("[sad]", "[sad]\nexclusive = true"))
    layer.trigger("happy")
    layer.trigger("sad")
    assert layer.active() == ["sad"]
    layer.trigger("grin")  # not exclusive: layered on top
    assert layer.active() == ["sad", "grin"]


def max_step(poses: list[Pose]) -> float:
    arrays = np.stack([p.as_array() for p in poses])
    return float(np.abs(np.diff(arrays, axis=0)).max())


def test_switching_mid_fade_never_jumps():
    layer = layer_from(PRESETS.replace("[happy]", "[happy]\nexclusive = true")
                       .replace("[sad]", "[sad]\nexclusive = true"))
    poses = []
    layer.trigger("happy")
    poses += [p for _, p in frames(layer, 0.02, 0.2)]  # happy half way in
    layer.trigger("sad")  # happy turns round mid-fade, sad comes in
    poses += [p for _, p in frames(layer, 0.22, 0.3)]
    layer.trigger("happy")  # back again while both are partial: happy keeps its place in the stack
    poses += [p for _, p in frames(layer, 0.32, 1.5)]
    # Per 20 ms frame a 1.0 change over the fastest fade (0.2 s) moves at most 1.5 * 0.02 / 0.2 with smoothstep.
    assert max_step(poses) <= 1.5 * 0.02 / 0.2 + 1e-5
    assert poses[-1]["mouth_raised_corner_left"] == pytest.approx(1.0)
    assert poses[-1]["mouth_lowered_corner_left"] == 0.0


def test_any_sequence_of_presses_stays_continuous():
    rng = random.Random(7)
    layer = layer_from()
    names = ["happy", "sad", "shout", "grin"]  # fades of 0.1 s and more, strength 1
    poses = []
    t = 0.0
    for _ in range(600):
        t = round(t + 0.02, 6)
        if rng.random() < 0.15:
            getattr(layer, rng.choice(["trigger", "release", "toggle", "press"]))(rng.choice(names))
        poses.append(layer.apply(TRACKED, t))
    # Bound: at most 4 layers each moving with smoothstep slope 1.5 at the fastest fade 0.1 s, values 0..1.
    assert max_step(poses) <= 4 * 1.5 * 0.02 / 0.1 + 1e-5
    assert max_step(poses) > 0  # it did move


def test_triggers_from_many_threads_while_frames_render():
    layer = layer_from()
    stop = threading.Event()

    def render():
        t = 0.0
        while not stop.is_set():
            t += 0.02
            layer.apply(TRACKED, t)

    renderer = threading.Thread(target=render)
    renderer.start()
    workers = [threading.Thread(target=lambda: [layer.toggle("happy") for _ in range(500)]) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    stop.set()
    renderer.join()
    assert layer.active() == []  # 2000 toggles: an even number, none lost


def test_shipped_presets_have_the_seed_papers_expressions():
    presets = load_presets(shipped_presets_path())
    for name in ("neutral", "happy", "sad", "angry", "disgusted", "condescending", "uwamedukai", "gangimari-gao"):
        assert name in presets
    manic = presets["gangimari-gao"]
    assert manic.pose["eye_surprised_left"] == 1.0 and manic.pose["iris_small_right"] == 1.0
    assert {"toggle", "hold", "one-shot"} <= {e.mode for e in presets.values()}
    layer = ExpressionLayer(presets)
    layer.apply(TRACKED, 0.0)
    layer.trigger("uwamedukai")
    pose = layer.apply(TRACKED, 1.0)
    assert pose["iris_rotation_x"] > 0.5 and pose["head_x"] < TRACKED["head_x"] and pose["eyebrow_troubled_left"] > 0


@pytest.mark.parametrize(
    "text, message",
    [
        ("[happy]\npose = { mouth_smile = 1.0 }", "unknown pose parameter 'mouth_smile'"),
        ("[happy]\npose = { mouth_raised_corner = 1.5 }", "outside 0..1"),
        ("[happy]\nmode = \"sticky\"\npose = { mouth_aaa = 1 }", "mode must be one of toggle, hold, one-shot"),
        ("[wow]\nmode = \"one-shot\"\npose = { mouth_aaa = 1 }", "needs duration"),
        ("[happy]\nduration = 2\npose = { mouth_aaa = 1 }", "duration only applies to mode = \"one-shot\""),
        ("[happy]\nfade_in = -1\npose = { mouth_aaa = 1 }", "fade_in must be 0 or more seconds"),
        ("[happy]\nfade_in = nan\npose = { mouth_aaa = 1 }", "fade_in must be a number, got nan"),
        ("[happy]\nfadein = 1\npose = { mouth_aaa = 1 }", "Did you mean 'fade_in'?"),
        ("[happy]\nkeep = [\"blinking\"]\npose = { mouth_aaa = 1 }", "cannot keep 'blinking'"),
        ("[happy]\n", "sets nothing"),
        ("[Happy]\npose = { mouth_aaa = 1 }", "lowercase"),
        ("[a]\nkey = \"ctrl+1\"\npose = { mouth_aaa = 1 }\n"
         "[b]\nkey = \"1+Ctrl\"\npose = { mouth_aaa = 1 }", "bound to both"),
        ("[a]\nkey = \"ctrl+1\"\npose = { mouth_aaa = 1 }\n[b]\nkey = \"Control_R+1\"\npose = { mouth_aaa = 1 }",
         "bound to both"),  # the keyboard hears one chord, so the file must not bind it twice
        ("[a]\nkey = \"+\"\npose = { mouth_aaa = 1 }", "cannot read the key binding '+'"),
        ("[a]\npose = { mouth_aaa = 1 }\nobs = { scene = 3 }", "obs.scene must be a non-empty name"),
        ("[a]\npose = { mouth_aaa = 1 }\nobs = { show = [{ source = \"x\" }] }", "needs exactly scene and source"),
        ("[defaults]\nfade_in = 0.1\n", "no expressions defined"),
    ],
)
def test_preset_mistakes_are_named(tmp_path, text, message):
    path = tmp_path / "expressions.toml"
    path.write_text(text)
    with pytest.raises(UserError) as err:
        load_presets(path)
    assert message in str(err.value)
    assert str(path) in str(err.value)


def test_unreadable_presets_files(tmp_path):
    with pytest.raises(UserError, match="not found"):
        load_presets(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[happy\npose = 1")
    with pytest.raises(UserError, match="not valid TOML"):
        load_presets(bad)


def test_unknown_expression_names_list_the_known_ones():
    layer = layer_from()
    with pytest.raises(UserError, match="unknown expression 'angry'; known: happy, sad"):
        layer.trigger("angry")
