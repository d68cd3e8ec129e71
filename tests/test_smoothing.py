"""The One Euro filter: steady when still, quick when moving; per-group settings on a whole pose."""

import numpy as np

from vtube_plugin.mapping.profile import load_profile
from vtube_plugin.mapping.smoothing import OneEuroFilter, OneEuroSettings, PoseSmoother
from vtube_plugin.pose import Pose

RATE = 60.0  # samples a second, like a phone tracker


def run(filter_, values):
    return np.array([float(filter_(v, i / RATE)) for i, v in enumerate(values)])


def test_a_constant_input_stays_exactly_constant():
    out = run(OneEuroFilter(OneEuroSettings(1.0, 0.3, 1.0)), [0.42] * 120)
    assert np.all(out == np.float64(0.42))


def test_noise_on_a_still_input_is_reduced_at_least_threefold():
    rng = np.random.default_rng(7)
    noisy = 0.5 + rng.normal(0.0, 0.02, 600)
    out = run(OneEuroFilter(OneEuroSettings(1.0, 0.3, 1.0)), noisy)
    # skip the first second, while the filter settles
    assert np.std(noisy[60:]) / np.std(out[60:]) > 3.0
    assert abs(out[60:].mean() - 0.5) < 0.01


def test_a_step_is_followed_within_ten_frames():
    step = [0.0] * 30 + [1.0] * 30
    out = run(OneEuroFilter(OneEuroSettings(1.0, 0.3, 1.0)), step)
    assert out[29] == 0.0
    assert out[30] < 0.5  # smoothed, not copied...
    assert out[30 + 10] > 0.95  # ...but there within 10 frames (167 ms)


def test_a_higher_beta_follows_a_fast_move_sooner():
    step = [0.0] * 10 + [1.0] * 10
    slow = run(OneEuroFilter(OneEuroSettings(1.0, 0.0, 1.0)), step)
    fast = run(OneEuroFilter(OneEuroSettings(1.0, 2.0, 1.0)), step)
    assert fast[12] > slow[12] + 0.2


def test_the_same_timestamp_twice_returns_the_previous_value():
    f = OneEuroFilter()
    f(0.0, 0.0)
    first = float(f(1.0, 0.1))
    assert float(f(5.0, 0.1)) == first


def test_pose_smoother_uses_each_groups_settings():
    smoother = PoseSmoother({"eye": OneEuroSettings(min_cutoff=50.0, beta=0.0), "mouth": OneEuroSettings(0.5, 0.0)})
    smoother(Pose(), 0.0)
    out = smoother(Pose.from_dict({"eye_wink_left": 1.0, "mouth_aaa": 1.0}), 1 / RATE)
    assert out["eye_wink_left"] > 0.8  # a blink is nearly instant
    assert out["mouth_aaa"] < 0.1  # a heavily smoothed group lags


def test_the_bundled_profiles_settings_smooth_head_jitter():
    settings = load_profile("arkit").smoothing["face_rotation"]
    rng = np.random.default_rng(3)
    noisy = 0.2 + rng.normal(0.0, 0.03, 600)  # about 0.4 degrees of jitter at 12 degrees for full turn
    out = run(OneEuroFilter(settings), noisy)
    assert np.std(noisy[60:]) / np.std(out[60:]) > 2.5
