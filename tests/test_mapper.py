"""The mapper with the bundled profiles: tracking frames in, poses a viewer would recognise out.

Sides: FaceFrame's Left is the person's own left and *_left pose parameters are the character's own
left, so a left blink closes eye_wink_left (no swap). THA3: head_y > 0 turns the face toward the
image's left (the character's own right); neck_z > 0 tilts the head toward the character's own right.
"""

import pytest

from vtube_plugin.mapping.calibration import NeutralCapture, load_calibration, save_calibration
from vtube_plugin.mapping.mapper import Mapper
from vtube_plugin.mapping.profile import load_profile
from vtube_plugin.pose import NAMES
from vtube_plugin.sources.frame import FaceFrame


@pytest.fixture(scope="module")
def arkit():
    return load_profile("arkit")


def pose_of(profile, blendshapes=None, **angles):
    return Mapper(profile).map(FaceFrame(blendshapes or {}, **angles))


def test_a_still_neutral_face_is_the_neutral_pose(arkit):
    pose = pose_of(arkit, {"eyeBlinkLeft": 0.0, "jawOpen": 0.0}, head=(0.0, 0.0, 0.0))
    assert all(v == 0.0 for v in pose.to_dict().values())


def test_an_open_jaw_opens_the_mouth(arkit):
    assert pose_of(arkit, {"jawOpen": 0.5})["mouth_aaa"] > 0.9
    assert pose_of(arkit, {"jawOpen": 0.2})["mouth_aaa"] > 0.3


def test_rounded_and_spread_lips_make_the_other_vowels(arkit):
    assert pose_of(arkit, {"jawOpen": 0.5, "mouthFunnel": 0.6})["mouth_ooo"] > 0.9
    assert pose_of(arkit, {"mouthPucker": 0.7})["mouth_uuu"] > 0.9
    assert pose_of(arkit, {"mouthStretchLeft": 0.4, "mouthStretchRight": 0.4})["mouth_iii"] > 0.8
    eee = pose_of(arkit, {"mouthStretchLeft": 0.4, "mouthStretchRight": 0.4, "jawOpen": 0.3})
    assert eee["mouth_eee"] > 0.5 and eee["mouth_eee"] > eee["mouth_aaa"]


def test_a_left_blink_closes_the_characters_left_eye(arkit):
    pose = pose_of(arkit, {"eyeBlinkLeft": 0.9, "eyeBlinkRight": 0.0})
    assert pose["eye_wink_left"] > 0.9
    assert pose["eye_wink_right"] == 0.0


def test_turning_to_your_left_turns_the_character_to_its_own_left(arkit):
    pose = pose_of(arkit, head=(0.0, 10.0, 0.0))  # yaw > 0: toward the person's own left
    assert pose["head_y"] < -0.5  # head_y < 0: toward the image's right, the character's own left
    assert pose["body_y"] < 0 and abs(pose["body_y"]) < abs(pose["head_y"])


def test_looking_up_and_tilting(arkit):
    pose = pose_of(arkit, head=(10.0, 0.0, 10.0))  # up, tilted toward the own left shoulder
    assert pose["head_x"] > 0.5
    assert pose["neck_z"] < -0.5


def test_head_angles_beyond_full_deflection_are_clamped(arkit):
    pose = pose_of(arkit, head=(90.0, -90.0, 90.0))
    assert (pose["head_x"], pose["head_y"], pose["neck_z"]) == (1.0, 1.0, -1.0)


def test_eye_angles_move_the_irises_the_same_way(arkit):
    pose = pose_of(arkit, left_eye=(10.0, -12.0), right_eye=(10.0, -12.0))  # up, toward the own right
    assert pose["iris_rotation_x"] > 0.5 and pose["iris_rotation_y"] > 0.5


def test_eye_look_blendshapes_move_the_irises_without_eye_angles(arkit):
    pose = pose_of(arkit, {"eyeLookInLeft": 0.6, "eyeLookOutRight": 0.6})  # both eyes toward the own right
    assert pose["iris_rotation_y"] > 0.6
    assert pose_of(arkit, {"eyeLookDownLeft": 0.6, "eyeLookDownRight": 0.6})["iris_rotation_x"] < -0.6


def test_a_smile_raises_the_mouth_corners_and_makes_happy_eyes(arkit):
    pose = pose_of(arkit, {"mouthSmileLeft": 0.9, "mouthSmileRight": 0.9})
    assert pose["mouth_raised_corner_left"] > 0.9 and pose["mouth_raised_corner_right"] > 0.9
    assert pose["eye_happy_wink_left"] > 0.3 and pose["eyebrow_happy_left"] > 0.5
    closed = pose_of(arkit, {"mouthSmileLeft": 0.9, "mouthSmileRight": 0.9, "eyeBlinkLeft": 0.8, "eyeBlinkRight": 0.8})
    assert closed["eye_happy_wink_left"] == 1.0 and closed["eye_wink_left"] == 0.0  # ^^ rather than a plain blink


def test_raised_and_lowered_eyebrows(arkit):
    assert pose_of(arkit, {"browOuterUpLeft": 0.6, "browInnerUp": 0.6})["eyebrow_raised_left"] > 0.9
    assert pose_of(arkit, {"browDownRight": 0.4})["eyebrow_angry_right"] > 0.8


def test_missing_and_unknown_names_never_raise(arkit):
    pose = pose_of(arkit, {"tongueOut": 1.0, "rightEyeBoneX": 3.0, "FM_browInnerUp_L": 0.5})
    assert all(v == 0.0 for v in pose.to_dict().values())
    assert pose_of(arkit, {})["mouth_aaa"] == 0.0


def test_names_match_whatever_their_case(arkit):
    assert pose_of(arkit, {"EyeBlinkLeft": 0.9})["eye_wink_left"] > 0.9  # PascalCase Perfect Sync senders


def test_every_value_stays_in_its_range(arkit):
    shapes = ("jawOpen", "mouthFunnel", "eyeWideLeft", "browInnerUp", "cheekSquintLeft")
    pose = pose_of(arkit, {name: 1.0 for name in shapes},
                   head=(200.0, 200.0, 200.0), left_eye=(90.0, 90.0))
    assert set(pose.to_dict()) == set(NAMES)
    assert all(-1.0 <= v <= 1.0 for v in pose.to_dict().values())
    assert pose["mouth_ooo"] <= 1.0 and pose["iris_small_left"] <= 0.5  # the profile's own clamp


def test_vrm_presets_drive_the_mouth_and_eyes():
    vrm = load_profile("vrm")
    assert pose_of(vrm, {"A": 1.0})["mouth_aaa"] == 1.0
    assert pose_of(vrm, {"aa": 0.7})["mouth_aaa"] == pytest.approx(0.7)  # VRM 1.0 spelling
    assert pose_of(vrm, {"O": 1.0})["mouth_ooo"] == 1.0
    blink = pose_of(vrm, {"Blink_L": 1.0})
    assert blink["eye_wink_left"] == 1.0 and blink["eye_wink_right"] == 0.0
    joy = pose_of(vrm, {"Joy": 1.0})
    assert joy["eye_happy_wink_left"] == 1.0 and joy["mouth_raised_corner_left"] == 1.0 \
        and joy["eyebrow_happy_right"] == 1.0
    assert pose_of(vrm, {"Sorrow": 1.0})["eyebrow_troubled_left"] == 1.0
    assert pose_of(vrm, {"Angry": 1.0})["eyebrow_angry_left"] == 1.0


def test_calibration_subtracts_the_neutral_face(arkit, tmp_path, monkeypatch):
    resting = [FaceFrame({"eyeBlinkLeft": 0.3 + 0.01 * (i % 3), "jawOpen": 0.0}, head=(4.0, -6.0, 2.0), timestamp=i)
               for i in range(30)]
    capture = NeutralCapture(30)
    for frame in resting:
        calibration = capture.add(frame)
    assert calibration is not None and calibration.frames == 30
    assert calibration.head == pytest.approx((4.0, -6.0, 2.0))

    before = Mapper(arkit).map(resting[0])
    assert before["eye_wink_left"] > 0.2 and before["head_y"] > 0.4  # the uncalibrated rest pose is off

    mapper = Mapper(arkit, calibration)
    rest = mapper.map(resting[0])
    assert rest["eye_wink_left"] == 0.0 and abs(rest["head_y"]) < 0.01 and abs(rest["head_x"]) < 0.01
    full = mapper.map(FaceFrame({"eyeBlinkLeft": 1.0}, head=(4.0, 4.0, 2.0)))
    assert full["eye_wink_left"] == 1.0  # a full blink is still full
    assert full["head_y"] < -0.5  # 10 degrees to the left of neutral

    monkeypatch.setenv("VTUBE_PLUGIN_CONFIG", str(tmp_path))
    path = save_calibration(calibration, "webcam", "arkit")
    assert path.parent == tmp_path / "calibration"
    assert load_calibration("webcam", "arkit") == calibration
    assert load_calibration("vmc", "arkit") is None


def test_a_damaged_calibration_file_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("VTUBE_PLUGIN_CONFIG", str(tmp_path))
    (tmp_path / "calibration").mkdir()
    (tmp_path / "calibration" / "vmc-vrm.json").write_text("{not json", encoding="utf-8")
    from vtube_plugin.errors import UserError

    with pytest.raises(UserError, match="calibration file .*vmc-vrm.json is damaged"):
        load_calibration("vmc", "vrm")


def test_the_smoothed_mapper_is_steady_on_repeated_frames(arkit):
    mapper = Mapper(arkit)
    frame = FaceFrame({"jawOpen": 0.5}, timestamp=1.0)
    first = mapper(frame)
    assert mapper(frame) == first  # the same frame again: no new information, the same pose
    later = mapper(FaceFrame({"jawOpen": 0.0}, timestamp=1.0 + 1 / 60))
    assert 0.0 < later["mouth_aaa"] < first["mouth_aaa"]  # closing, smoothed


def test_driven_names_what_the_frame_reached_not_the_zeros_it_never_sent(arkit):
    """Idle life fills in the parameters a tracker does not drive; a zero sent (eyes open) still drives."""
    mapper = Mapper(arkit)
    mapper.map(FaceFrame({"jawOpen": 0.4}))
    assert "mouth_aaa" in mapper.driven and "eye_wink_left" not in mapper.driven
    assert "head_x" not in mapper.driven and "breathing" not in mapper.driven
    mapper.map(FaceFrame({"eyeBlinkLeft": 0.0, "eyeBlinkRight": 0.0}, head=(0.0, 0.0, 0.0), left_eye=(0.0, 0.0)))
    assert {"eye_wink_left", "eye_wink_right", "head_x", "head_y", "neck_z", "iris_rotation_x"} <= mapper.driven
    assert "mouth_aaa" not in mapper.driven
    vrm = Mapper(load_profile("vrm"))
    vrm.map(FaceFrame({"A": 0.6}))  # a VMC app that sends only the mouth
    assert vrm.driven == {"mouth_aaa"}
