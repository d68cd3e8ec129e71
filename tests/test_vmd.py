"""MMD motion files: read back what a writer put in, and the pose track a profile makes of them."""

from __future__ import annotations

import math

import numpy as np
import pytest
from vmd_writer import LINEAR, quaternion, vmd_bytes

from vtube_plugin.errors import UserError
from vtube_plugin.motion.profile import load_profile, parse_profile
from vtube_plugin.motion.track import euler_degrees
from vtube_plugin.motion.vmd import parse_vmd
from vtube_plugin.pose import BY_NAME

EASE_IN = (100, 0, 127, 60)  # starts slowly, ends fast


@pytest.fixture(scope="module")
def vmd_profile():
    return load_profile("vmd")


def column(track, name: str) -> np.ndarray:
    return track.values[:, BY_NAME[name].index]


def head_nod(degrees: float, frames: int = 30, curve=LINEAR, bone: str = "頭", axis: str = "x"):
    """A bone going from rest at frame 0 to `degrees` at `frames`."""
    return [(bone, 0, quaternion(axis, 0), LINEAR), (bone, frames, quaternion(axis, degrees), curve)]


# --- reading ------------------------------------------------------------------------------------
def test_keyframes_read_back_with_japanese_names_and_the_rotation_curve():
    data = vmd_bytes(bones=head_nod(20, curve=EASE_IN), morphs=[("あ", 0, 0.0), ("まばたき", 12, 0.75)],
                     model="初音ミク")
    motion = parse_vmd(data)

    assert motion.model_name == "初音ミク"
    assert [(k.morph, k.frame, k.weight) for k in motion.morphs] == [("あ", 0, 0.0), ("まばたき", 12, 0.75)]
    head = motion.bones[1]
    assert (head.bone, head.frame) == ("頭", 30)
    assert head.rotation == pytest.approx(quaternion("x", 20), abs=1e-6)
    assert head.rotation_curve == pytest.approx(tuple(v / 127 for v in EASE_IN))
    assert motion.last_frame == 30


def test_old_header_with_a_ten_byte_model_name_reads_the_same_keyframes():
    keys = dict(bones=head_nod(10), morphs=[("い", 5, 1.0)])
    old = parse_vmd(vmd_bytes(**keys, old_header=True, model="ミク"))
    new = parse_vmd(vmd_bytes(**keys, model="ミク"))
    assert (old.bones, old.morphs, old.model_name) == (new.bones, new.morphs, "ミク")


def test_a_file_that_stops_after_the_bones_has_no_morphs():
    motion = parse_vmd(vmd_bytes(bones=head_nod(10), sections=1))
    assert len(motion.bones) == 2 and motion.morphs == ()


def test_names_cut_mid_character_or_followed_by_junk_are_cleaned():
    data = bytearray(vmd_bytes(morphs=[("まばたき", 0, 1.0), ("ああああああああ", 0, 1.0)]))
    first_name = data.index("まばたき".encode("cp932"))
    data[first_name + 9:first_name + 15] = b"\xfd" * 6  # MMD leaves junk after the NUL
    motion = parse_vmd(bytes(data))
    # 8 double-byte characters do not fit in 15 bytes; the half character is dropped
    assert [k.morph for k in motion.morphs] == ["まばたき", "あああああああ"]


@pytest.mark.parametrize("data, message", [
    (b"PMX \x00\x00\x00\x40" + bytes(100), "looks like an MMD model"),
    (b"hello, this is a text file" + bytes(40), "is not an MMD motion file"),
    (b"", "is not an MMD motion file"),
    (vmd_bytes()[:40], "ends inside its header"),
    (vmd_bytes(bones=head_nod(10))[:-20], "promises 2 bone keyframes but holds only 1"),
    (vmd_bytes(morphs=[("あ", 0, 1.0)] * 3, sections=2)[:-30], "promises 3 morph keyframes but holds only 1"),
    (vmd_bytes()[:52], "ends before the bone count"),
], ids=["model", "text", "empty", "cut header", "cut bones", "cut morphs", "no bone count"])
def test_damaged_or_foreign_files_say_what_is_wrong(data, message):
    with pytest.raises(UserError, match=message):
        parse_vmd(data, "dance.vmd")


# --- morphs -------------------------------------------------------------------------------------
def test_morphs_move_linearly_and_hold_before_the_first_and_after_the_last_key(vmd_profile):
    motion = parse_vmd(vmd_bytes(morphs=[("あ", 10, 0.2), ("あ", 20, 0.8), ("お", 40, 0.0)]))
    aaa = column(vmd_profile.track(motion), "mouth_aaa")

    assert len(aaa) == 41  # frames 0..40 at MMD's 30 fps
    assert aaa[0] == pytest.approx(0.2) and aaa[10] == pytest.approx(0.2)
    assert aaa[15] == pytest.approx(0.5)  # midpoint = mean of the two keys
    assert aaa[13] == pytest.approx(0.2 + 0.6 * 0.3)
    assert aaa[20] == pytest.approx(0.8) and aaa[40] == pytest.approx(0.8)


def test_blink_and_wink_add_up_on_one_eye_and_stay_in_range(vmd_profile):
    motion = parse_vmd(vmd_bytes(morphs=[("まばたき", 0, 0.7), ("ウィンク", 0, 0.6), ("ウィンク右", 0, 0.1)]))
    pose = vmd_profile.track(motion).values[0]
    # MMD's ウィンク closes the model's own left eye; eye_wink_left is the character's left too
    assert pose[BY_NAME["eye_wink_left"].index] == pytest.approx(1.0)  # 0.7 + 0.6 held at 1
    assert pose[BY_NAME["eye_wink_right"].index] == pytest.approx(0.8)


def test_other_frame_rates_sample_between_mmd_frames(vmd_profile):
    motion = parse_vmd(vmd_bytes(morphs=[("あ", 0, 0.0), ("あ", 30, 1.0)]))
    track = vmd_profile.track(motion, fps=60)
    assert len(track) == 61 and track.duration == pytest.approx(1.0)
    assert column(track, "mouth_aaa")[1] == pytest.approx(1 / 60)
    assert len(vmd_profile.track(motion, fps=24)) == 25


def test_unknown_morphs_are_listed_once_in_order(vmd_profile):
    motion = parse_vmd(vmd_bytes(morphs=[("ぺろっ", 0, 1.0), ("あ", 0, 1.0), ("はぅ", 3, 1.0), ("ぺろっ", 9, 0.0)]))
    assert vmd_profile.unknown_morphs(motion) == ["ぺろっ", "はぅ"]


# --- bones --------------------------------------------------------------------------------------
@pytest.mark.parametrize("axis, parameter", [("x", "head_x"), ("y", "head_y"), ("z", "neck_z")])
def test_head_rotation_scales_15_degrees_to_the_parameter_end_with_mmd_signs(vmd_profile, axis, parameter):
    up = vmd_profile.track(parse_vmd(vmd_bytes(bones=head_nod(7.5, axis=axis))))
    down = vmd_profile.track(parse_vmd(vmd_bytes(bones=head_nod(-15, axis=axis))))
    assert column(up, parameter)[-1] == pytest.approx(0.5, abs=1e-4)
    assert column(down, parameter)[-1] == pytest.approx(-1.0, abs=1e-4)
    others = [p for p in ("head_x", "head_y", "neck_z") if p != parameter]
    assert np.abs(up.values[:, [BY_NAME[p].index for p in others]]).max() < 1e-4


def test_neck_and_head_add_and_the_sum_is_held_at_the_end(vmd_profile):
    both = head_nod(6, bone="頭") + head_nod(3, bone="首")
    assert column(vmd_profile.track(parse_vmd(vmd_bytes(bones=both))), "head_x")[-1] == pytest.approx(0.6, abs=1e-4)
    far = head_nod(40, bone="頭")
    assert column(vmd_profile.track(parse_vmd(vmd_bytes(bones=far))), "head_x")[-1] == pytest.approx(1.0)


def test_linear_curve_turns_at_an_even_pace(vmd_profile):
    track = vmd_profile.track(parse_vmd(vmd_bytes(bones=head_nod(12, frames=30, curve=LINEAR))))
    head_x = column(track, "head_x")
    assert head_x[15] == pytest.approx(0.4, abs=2e-3)  # half the time, half of 12 degrees
    assert head_x[10] == pytest.approx(12 / 3 / 15, abs=2e-3)


def test_ease_in_curve_is_behind_at_half_time_and_arrives_on_time(vmd_profile):
    track = vmd_profile.track(parse_vmd(vmd_bytes(bones=head_nod(15, frames=30, curve=EASE_IN))))
    head_x = column(track, "head_x")
    assert head_x[15] < 0.3  # a straight line would be at 0.5
    assert np.all(np.diff(head_x) >= -1e-6)  # never turns back
    assert head_x[30] == pytest.approx(1.0, abs=1e-4)


def test_each_segment_uses_the_curve_stored_on_its_later_key(vmd_profile):
    bones = [("頭", 0, quaternion("x", 0), EASE_IN), ("頭", 10, quaternion("x", 15), LINEAR),
             ("頭", 20, quaternion("x", 0), EASE_IN)]
    head_x = column(vmd_profile.track(parse_vmd(vmd_bytes(bones=bones))), "head_x")
    assert head_x[5] == pytest.approx(0.5, abs=2e-3)  # 0 -> 10 eases with key 10's linear curve
    assert head_x[15] > 0.7  # 10 -> 20 eases in with key 20's curve: still near the start


def test_euler_angles_follow_mmd_yaw_pitch_roll_order():
    def multiply(a, b):
        ax, ay, az, aw = a
        bx, by, bz, bw = b
        return (aw * bx + ax * bw + ay * bz - az * by, aw * by - ax * bz + ay * bw + az * bx,
                aw * bz + ax * by - ay * bx + az * bw, aw * bw - ax * bx - ay * by - az * bz)

    q = multiply(multiply(quaternion("y", 25), quaternion("x", -10)), quaternion("z", 5))
    assert euler_degrees(np.array([q])) == pytest.approx(np.array([[-10, 25, 5]]), abs=1e-6)
    assert math.isclose(float(euler_degrees(np.array([quaternion("x", 90)]))[0, 0]), 90, abs_tol=1e-3)


def test_damaged_numbers_give_a_neutral_pose_not_nan(vmd_profile):
    motion = parse_vmd(vmd_bytes(bones=[("頭", 0, (0.0, 0.0, 0.0, 0.0), LINEAR)], morphs=[("あ", 0, float("nan"))]))
    values = vmd_profile.track(motion).values
    assert not np.isnan(values).any()
    assert values[0, BY_NAME["head_x"].index] == 0 and values[0, BY_NAME["mouth_aaa"].index] == 0


# --- profiles -----------------------------------------------------------------------------------
def test_profile_mistakes_name_the_entry():
    with pytest.raises(UserError, match=r'morph "あ": \'mouth_aa\' is not a pose parameter \(did you mean mouth_aaa'):
        parse_profile({"morphs": {"あ": "mouth_aa"}}, "mine.toml")
    with pytest.raises(UserError, match='bone "頭" axis x, degrees must be a number'):
        parse_profile({"bones": {"頭": {"x": {"parameter": "head_x", "degrees": "15"}}}}, "mine.toml")
    with pytest.raises(UserError, match="axis must be x, y or z"):
        parse_profile({"bones": {"頭": {"w": {"parameter": "head_x", "degrees": 15}}}}, "mine.toml")
    with pytest.raises(UserError, match="motion profile not found: nosuch"):
        load_profile("nosuch")
    with pytest.raises(UserError, match=r'morph "あ": \'\{\'x\': 1\}\' is not a pose parameter'):
        parse_profile({"morphs": {"あ": [{"x": 1}]}}, "mine.toml")
    with pytest.raises(UserError, match='morph "あ", gain of mouth_aaa must be a number, got nan'):
        parse_profile({"morphs": {"あ": {"mouth_aaa": float("nan")}}}, "mine.toml")


def test_profile_gains_and_negative_degrees(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('[morphs]\n"あ" = { mouth_aaa = 0.5, mouth_ooo = 0.25 }\n'
                    '[bones."頭"]\ny = { parameter = "head_y", degrees = -10 }\n', encoding="utf-8")
    profile = load_profile(str(path))
    motion = parse_vmd(vmd_bytes(bones=head_nod(5, axis="y"), morphs=[("あ", 0, 1.0)]))
    last = profile.track(motion).values[-1]
    assert last[BY_NAME["mouth_aaa"].index] == pytest.approx(0.5)
    assert last[BY_NAME["mouth_ooo"].index] == pytest.approx(0.25)
    assert last[BY_NAME["head_y"].index] == pytest.approx(-0.5, abs=1e-4)
