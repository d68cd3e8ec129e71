"""The Pose type: the table of 45 parameters, and every way of building one, good and bad."""

from __future__ import annotations

import json

import numpy as np
import pytest

from vtube_plugin.errors import UserError
from vtube_plugin.pose import BY_NAME, GROUPS, NAMES, PARAMETERS, THA2_SIZE, THA3_SIZE, Pose, lerp


def test_the_table_follows_the_reference_order():
    assert len(PARAMETERS) == THA3_SIZE == 45 and THA2_SIZE == 42
    assert NAMES[:2] == ("eyebrow_troubled_left", "eyebrow_troubled_right")
    assert [BY_NAME[n].index for n in ("eye_wink_left", "iris_small_left", "mouth_aaa", "mouth_lowered_corner_left",
                                       "mouth_smirk", "iris_rotation_x", "head_x", "neck_z", "body_y", "breathing")] \
        == [12, 24, 26, 32, 36, 37, 39, 41, 42, 44]
    assert GROUPS == ("eyebrow", "eye", "iris_morph", "mouth", "iris_rotation", "face_rotation", "body_rotation",
                      "breathing")
    assert BY_NAME["head_y"].minimum == -1.0 and BY_NAME["mouth_aaa"].minimum == 0.0


def test_pairs_dicts_and_files_build_the_same_pose(tmp_path):
    from_pairs = Pose.from_pairs(["mouth_aaa=1", "head_y=-0.5, eye_wink_left=0.25"])
    (tmp_path / "p.json").write_text(json.dumps({"pose": {"mouth_aaa": 1, "head_y": -0.5, "eye_wink_left": 0.25}}))
    (tmp_path / "p.toml").write_text("mouth_aaa = 1.0\nhead_y = -0.5\neye_wink_left = 0.25\n")
    assert from_pairs == Pose.from_file(tmp_path / "p.json") == Pose.from_file(tmp_path / "p.toml")
    assert from_pairs == Pose.parse(["mouth_aaa=1", "head_y=-0.5", "eye_wink_left=0.25"])
    assert Pose.parse(str(tmp_path / "p.toml")) == from_pairs
    assert from_pairs["head_y"] == -0.5 and from_pairs["mouth_iii"] == 0.0
    values = from_pairs.as_array()
    assert values.dtype == np.float32 and values.shape == (45,) and values[26] == 1.0
    assert from_pairs.as_array(42).shape == (42,)


def test_tha2_and_tha3_value_lists():
    assert Pose(np.ones(42)).as_array()[42:].tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="42 or 45 values"):
        Pose(np.ones(40))


@pytest.mark.parametrize("values, message", [
    ({"mouth_aa": 1}, "unknown pose parameter 'mouth_aa'. Did you mean mouth_aaa"),
    ({"head_y": 1.5}, "'head_y' = 1.5 is outside its range -1..1"),
    ({"mouth_aaa": -0.1}, "'mouth_aaa' = -0.1 is outside its range 0..1"),
    ({"head_x": "left"}, "'head_x' must be a number in -1..1, got 'left'"),
    ({"breathing": float("nan")}, "'breathing' is NaN"),
])
def test_bad_values_name_the_parameter_and_its_range(values, message):
    with pytest.raises(UserError, match=message.replace(".", r"\.").replace("(", r"\(")):
        Pose.from_dict(values)


def test_clamp_is_for_live_values():
    assert Pose.from_dict({"head_y": 3.0, "mouth_aaa": -1.0}, clamp=True).to_dict()["head_y"] == 1.0


@pytest.mark.parametrize("content, name, message", [
    ("{bad", "p.json", "is not valid JSON"),
    ("x = = 1", "p.toml", "is not valid TOML"),
    ("[1, 2]", "p.json", "must hold a table of name = value pairs"),
])
def test_bad_pose_files(tmp_path, content, name, message):
    (tmp_path / name).write_text(content)
    with pytest.raises(UserError, match=message):
        Pose.from_file(tmp_path / name)
    with pytest.raises(UserError, match="pose file not found"):
        Pose.from_file(tmp_path / "missing.json")
    with pytest.raises(UserError, match="'mouth_aaa' is not a name=value pair"):
        Pose.from_pairs(["mouth_aaa"])


def test_replace_and_lerp():
    a = Pose.from_dict({"mouth_aaa": 1.0})
    b = a.replace(head_y=0.5)
    assert b["mouth_aaa"] == 1.0 and b["head_y"] == 0.5 and a["head_y"] == 0.0
    with pytest.raises(UserError):
        a.replace(head_y=2.0)
    mid = lerp(Pose(), b, 0.5)
    assert mid["mouth_aaa"] == pytest.approx(0.5) and mid["head_y"] == pytest.approx(0.25)
