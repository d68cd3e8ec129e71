"""Profiles: the bundled ones load, names resolve, and every mistake in a file says file, table, key and fix."""

import pytest

from vtube_plugin.bundled import profiles_dir
from vtube_plugin.errors import UserError
from vtube_plugin.mapping.profile import bundled_profiles, find_profile, load_profile
from vtube_plugin.pose import BY_NAME, GROUPS


@pytest.fixture(autouse=True)
def own_config(tmp_path, monkeypatch):
    monkeypatch.setenv("VTUBE_PLUGIN_CONFIG", str(tmp_path / "config"))


def write(tmp_path, text, name="mine.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def error(tmp_path, text) -> str:
    path = write(tmp_path, text)
    with pytest.raises(UserError) as info:
        load_profile(str(path))
    message = str(info.value)
    assert str(path) in message  # every message names the file
    return message


def test_bundled_profiles_are_arkit_and_vrm():
    assert {"arkit", "vrm"} <= set(bundled_profiles())
    assert "expressions" not in bundled_profiles()  # profiles/ also holds other kinds of files


def test_the_arkit_profile_drives_every_tracked_group():
    profile = load_profile("arkit")
    groups = {BY_NAME[name].group for name in profile.parameters}
    # breathing is not in a face: the expression layer adds it
    assert groups == set(GROUPS) - {"breathing"}
    for shape in ("mouth_aaa", "mouth_iii", "mouth_uuu", "mouth_eee", "mouth_ooo"):
        assert shape in profile.parameters
    assert {"eye_happy_wink_left", "mouth_raised_corner_right", "eyebrow_raised_left", "iris_small_left"} \
        <= set(profile.parameters)
    assert set(profile.smoothing) >= {"eye", "mouth", "face_rotation"}


def test_the_vrm_profile_reads_vrm_preset_names():
    profile = load_profile("vrm")
    assert ("a", 1.0) in profile.parameters["mouth_aaa"].inputs
    assert ("blink_l", 1.0) in profile.parameters["eye_wink_left"].inputs


def test_a_name_finds_the_users_own_profile_before_a_bundled_one(tmp_path):
    own = tmp_path / "config" / "profiles" / "arkit.toml"
    own.parent.mkdir(parents=True)
    own.write_text('name = "my arkit"\n[parameters.mouth_aaa]\ninputs = { jawOpen = 2.0 }\n', encoding="utf-8")
    assert find_profile("arkit") == own
    assert load_profile("arkit").name == "my arkit"
    assert find_profile("vrm") == profiles_dir() / "vrm.toml"


def test_a_path_loads_and_the_name_defaults_to_the_file_name(tmp_path):
    path = write(tmp_path, "[parameters.mouth_aaa]\ninputs = { jawOpen = 1.0 }\n", "loud.toml")
    profile = load_profile(str(path))
    assert profile.name == "loud" and profile.path == path


def test_an_unknown_profile_name_suggests_the_close_one():
    with pytest.raises(UserError, match="no profile named 'arkt'. Did you mean arkit"):
        load_profile("arkt")


def test_a_missing_profile_file():
    with pytest.raises(UserError, match="profile file not found: .*nowhere.toml"):
        load_profile("nowhere.toml")


def test_invalid_toml(tmp_path):
    assert "is not valid TOML" in error(tmp_path, "[parameters.mouth_aaa\n")


def test_an_unknown_pose_name_suggests_names(tmp_path):
    message = error(tmp_path, "[parameters.eye_wink_lft]\ninputs = { eyeBlinkLeft = 1 }\n")
    assert "[parameters.eye_wink_lft]" in message and "unknown pose parameter" in message
    assert "Did you mean eye_wink_left" in message


def test_an_unknown_curve(tmp_path):
    message = error(tmp_path, '[parameters.mouth_aaa]\ninputs = { jawOpen = 1 }\ncurve = "smooth"\n')
    assert "[parameters.mouth_aaa] curve" in message and "linear, smoothstep, pow" in message


def test_a_negative_dead_zone(tmp_path):
    message = error(tmp_path, "[parameters.mouth_aaa]\ninputs = { jawOpen = 1 }\ndead_zone = -0.1\n")
    assert "[parameters.mouth_aaa] dead_zone: must not be negative, got -0.1" in message


def test_a_gain_of_the_wrong_type(tmp_path):
    message = error(tmp_path, '[parameters.mouth_aaa]\ninputs = { jawOpen = 1 }\ngain = "high"\n')
    assert "[parameters.mouth_aaa] gain: must be a number, got 'high'" in message


def test_an_infinite_gain_is_not_a_number(tmp_path):
    message = error(tmp_path, "[parameters.mouth_aaa]\ninputs = { jawOpen = 1 }\ngain = inf\n")
    assert "[parameters.mouth_aaa] gain: must be a number, got inf" in message


def test_a_signal_may_not_shadow_an_angle_input_in_any_case(tmp_path):
    message = error(tmp_path, "[signals.Head_Yaw]\ninputs = { jawOpen = 1 }\n")
    assert "[signals.Head_Yaw]: a signal may not take the name of a blendshape or angle input" in message


def test_a_weight_of_the_wrong_type(tmp_path):
    message = error(tmp_path, '[parameters.mouth_aaa]\ninputs = { jawOpen = true }\n')
    assert "[parameters.mouth_aaa] inputs.jawOpen: weight must be a number" in message


def test_an_almost_arkit_input_name_is_a_typo(tmp_path):
    message = error(tmp_path, "[parameters.eye_wink_left]\ninputs = { eyeBlinkLef = 1 }\n")
    assert "inputs.eyeBlinkLef: unknown input. Did you mean eyeBlinkLeft?" in message


def test_missing_inputs(tmp_path):
    assert "[parameters.mouth_aaa] inputs: missing" in error(tmp_path, "[parameters.mouth_aaa]\ngain = 2\n")


def test_an_unknown_key_in_a_rule(tmp_path):
    message = error(tmp_path, "[parameters.mouth_aaa]\ninputs = { jawOpen = 1 }\ndeadzone = 0.1\n")
    assert "[parameters.mouth_aaa] deadzone: unknown key. Did you mean dead_zone?" in message


def test_an_unknown_top_level_table(tmp_path):
    assert "[top level] parameter: unknown key. Did you mean parameters" in \
        error(tmp_path, "[parameter.mouth_aaa]\ninputs = {}\n")


def test_a_signal_must_be_defined_above_its_use(tmp_path):
    message = error(tmp_path, '[parameters.eye_wink_left]\ninputs = { eyeBlinkLeft = 1 }\nunless = ["smile"]\n')
    assert "[parameters.eye_wink_left] unless: unknown signal 'smile'" in message


def test_a_clamp_outside_the_parameters_range(tmp_path):
    message = error(tmp_path, "[parameters.mouth_aaa]\ninputs = { jawOpen = 1 }\nclamp = [-1, 1]\n")
    assert "[parameters.mouth_aaa] clamp: [-1, 1] must be low <= high inside 0..1" in message


def test_a_clamp_that_is_not_two_numbers(tmp_path):
    message = error(tmp_path, "[parameters.mouth_aaa]\ninputs = { jawOpen = 1 }\nclamp = 1\n")
    assert "[parameters.mouth_aaa] clamp: must be two numbers [low, high], got 1" in message


def test_head_parameters_belong_in_the_head_table(tmp_path):
    message = error(tmp_path, "[parameters.head_y]\ninputs = { head_yaw = 0.1 }\n")
    assert "[parameters.head_y]: head_y is set in the [head] table" in message


def test_head_entries_are_checked(tmp_path):
    assert "[head.head_y] sign: must be 1 or -1, got 2" in error(
        tmp_path, '[head]\nhead_y = { angle = "yaw", degrees = 10, sign = 2 }\n')
    assert "[head.head_y] degrees: must be greater than 0, got 0" in error(
        tmp_path, '[head]\nhead_y = { angle = "yaw", degrees = 0 }\n')
    assert "[head.head_y] angle: unknown angle 'yew'; use one of pitch, yaw, roll" in error(
        tmp_path, '[head]\nhead_y = { angle = "yew", degrees = 10 }\n')
    assert "[head.mouth_aaa]: the [head] table drives" in error(
        tmp_path, '[head]\nmouth_aaa = { angle = "yaw", degrees = 10 }\n')


def test_iris_entries_are_checked(tmp_path):
    assert "[iris] use_eye_angles: must be true or false, got 'yes'" in \
        error(tmp_path, '[iris]\nuse_eye_angles = "yes"\n')
    assert "[iris] degrees_x: must be greater than 0, got -5" in error(tmp_path, "[iris]\ndegrees_x = -5\n")


def test_smoothing_groups_and_values_are_checked(tmp_path):
    message = error(tmp_path, "[smoothing]\neyes = { min_cutoff = 1.0 }\n")
    assert "[smoothing.eyes]: unknown parameter group 'eyes'. Did you mean eye" in message
    assert "[smoothing.eye] beta: must not be negative, got -1" in error(tmp_path, "[smoothing]\neye = { beta = -1 }\n")
    assert "[smoothing.eye] min_cutoff: must be greater than 0, got 0" in \
        error(tmp_path, "[smoothing]\neye = { min_cutoff = 0 }\n")


def test_a_name_finds_only_its_kind_of_file(tmp_path):
    """profiles/ holds tracking profiles, motion profiles and the presets; each lookup lists and finds its own."""
    from vtube_plugin.motion.profile import load_profile as load_motion_profile

    with pytest.raises(UserError, match="no profile named 'vmd'.* Bundled profiles: arkit, openseeface, vrm;"):
        load_profile("vmd")  # a motion profile, not a tracking one
    with pytest.raises(UserError, match="motion profile not found: arkit.* Bundled motion profiles: vmd;"):
        load_motion_profile("arkit")
    own = tmp_path / "config" / "profiles" / "dance.toml"  # a motion profile of the user's own, found by name
    own.parent.mkdir(parents=True)
    own.write_text('[morphs]\n"あ" = "mouth_aaa"\n', encoding="utf-8")
    assert load_motion_profile("dance").morphs == {"あ": {"mouth_aaa": 1.0}}
    with pytest.raises(UserError, match="no profile named 'dance'"):
        load_profile("dance")
