"""The webcam source runs the real MediaPipe FaceLandmarker on a real photograph (scikit-image's astronaut,
Eileen Collins, smiling) and on a short video made of it."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import skimage.data

from vtube_plugin.errors import UserError
from vtube_plugin.models.store import landmarker_path
from vtube_plugin.sources.names import ARKIT_NAMES
from vtube_plugin.sources.webcam import FaceTracker, WebcamSource, face_frame_from_image, find_landmarker

if not landmarker_path().is_file():
    pytest.skip("the face landmarker model is not fetched: run `vtube-plugin models fetch`", allow_module_level=True)

# Where the astronaut's eyes are in the 512x512 photo (x0, y0, x1, y1), read off MediaPipe's eye landmarks.
HER_LEFT_EYE = (234, 97, 258, 110)  # on the image's right: she faces the camera


def paint_closed_eye(rgb: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The photo with one eye painted shut (skin over the eye, a dark lash line): a wink to tell left from right."""
    x0, y0, x1, y1 = box
    out = rgb.copy()
    skin = np.median(rgb[y1 + 3 : y1 + 9, x0:x1].reshape(-1, 3), axis=0)
    centre, axes = ((x0 + x1) // 2, (y0 + y1) // 2), ((x1 - x0) // 2 + 2, (y1 - y0) // 2 + 2)
    cv2.ellipse(out, centre, axes, 0, 0, 360, skin.tolist(), -1, cv2.LINE_AA)
    cv2.ellipse(out, (centre[0], centre[1] - 1), ((x1 - x0) // 2 - 1, 3), 0, 0, 180, (40, 25, 25), 2, cv2.LINE_AA)
    return out


def rotated(rgb: np.ndarray, degrees: float) -> np.ndarray:
    """The photo turned counter-clockwise on screen by `degrees` about its centre."""
    h, w = rgb.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(rgb, m, (w, h), borderMode=cv2.BORDER_REFLECT)


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return skimage.data.astronaut()


@pytest.fixture(scope="module")
def tracker():
    with FaceTracker() as t:
        yield t


@pytest.fixture(scope="module")
def still(tracker, astronaut):
    return tracker.track(astronaut)


def test_a_smiling_face_gives_arkit_blendshapes(still):
    assert set(still.blendshapes) == set(ARKIT_NAMES) - {"tongueOut"}  # the model has no tongue output
    assert all(0.0 <= v <= 1.0 for v in still.blendshapes.values())
    # she smiles broadly with her mouth closed (measured: 0.90 each side, jawOpen 0.01)
    assert still.weight("mouthSmileLeft") > 0.6 and still.weight("mouthSmileRight") > 0.6
    assert still.weight("jawOpen") < 0.2
    assert still.source == "webcam"


def test_head_rotation_is_plausible(still):
    pitch, yaw, roll = still.head
    assert all(abs(a) < 25 for a in still.head)
    # her head leans slightly toward her own left shoulder (her left eye sits lower in the photo)
    assert roll > 1.0


def test_turning_the_picture_rolls_the_head(tracker, astronaut, still):
    # turned counter-clockwise on screen, the top of her head moves to the image's left: her right side
    assert tracker.track(rotated(astronaut, 15)).head[2] == pytest.approx(still.head[2] - 15, abs=4)
    assert tracker.track(rotated(astronaut, -15)).head[2] == pytest.approx(still.head[2] + 15, abs=4)


def test_left_means_her_own_left(tracker, astronaut):
    wink = tracker.track(paint_closed_eye(astronaut, HER_LEFT_EYE))
    assert wink.weight("eyeBlinkLeft") > wink.weight("eyeBlinkRight") + 0.1


def test_a_mirrored_picture_swaps_sides_and_flips_yaw_and_roll(tracker, astronaut, still):
    wink = paint_closed_eye(astronaut, HER_LEFT_EYE)
    mirrored = tracker.track(wink[:, ::-1])
    assert mirrored.weight("eyeBlinkRight") > mirrored.weight("eyeBlinkLeft") + 0.1
    assert mirrored.weight("eyeBlinkRight") == pytest.approx(tracker.track(wink).weight("eyeBlinkLeft"), abs=0.15)
    plain = tracker.track(astronaut[:, ::-1])
    assert plain.head[2] < -1.0  # roll changed sign (the original leans the other way)
    # she faces the camera (yaw about -0.3 degrees), so "yaw flips" holds only within the model's noise
    assert plain.head[1] == pytest.approx(-still.head[1], abs=3)
    assert plain.head[0] == pytest.approx(still.head[0], abs=3)  # pitch does not care about mirrors


def test_the_mirror_option_undoes_a_mirrored_camera(astronaut, still):
    undone = face_frame_from_image(astronaut[:, ::-1], mirror=True)
    assert undone.blendshapes == pytest.approx(still.blendshapes, abs=1e-4)
    assert undone.head == pytest.approx(still.head, abs=1e-3)


def test_no_face_gives_none(tracker):
    assert tracker.track(np.full((240, 320, 3), 128, np.uint8)) is None


def test_a_video_file_plays_through_the_capture_path(tmp_path, astronaut, still):
    path = tmp_path / "astronaut.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 20.0, (512, 512))
    bgr = cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR)
    blank = np.full_like(bgr, 90)
    for i in range(12):
        writer.write(blank if i == 5 else bgr)  # one picture without a face
    writer.release()

    with WebcamSource(device=str(path), loop=False) as source:
        assert source.wait_until(lambda s: s.finished, timeout=30)
    assert source.stats.packets == 12
    assert source.stats.frames == 11
    assert source.stats.reasons == {"no face in the picture": 1}
    frame = source.latest()
    assert frame.weight("mouthSmileLeft") > 0.6
    assert frame.head == pytest.approx(still.head, abs=3)  # JPEG-compressed, tracked as video


def test_a_camera_that_cannot_be_opened_is_a_clear_error():
    source = WebcamSource(device=47)
    with pytest.raises(UserError, match="could not open camera 47.*another index"):
        source.start()
    assert source._capture is None and source._tracker is None  # the capture and the landmarker were released


def test_a_missing_video_file_is_a_clear_error(tmp_path):
    with pytest.raises(UserError, match="no camera index and no video file"):
        WebcamSource(device=str(tmp_path / "nope.mp4")).start()


def test_a_missing_model_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("VTUBE_PLUGIN_CACHE", str(tmp_path))
    with pytest.raises(UserError, match="models fetch"):
        find_landmarker()
    with pytest.raises(UserError, match="landmarker=.*no such file"):
        WebcamSource(landmarker=str(tmp_path / "mine.task")).start()


NATIVE_CHATTER = ("Logging before InitGoogle", "face_landmarker_graph.cc", "TensorFlow Lite XNNPACK delegate",
                  "inference_feedback_manager.cc")


def test_mediapipes_own_log_lines_show_only_with_verbose(tmp_path, astronaut):
    from live_process import LiveProcess

    path = tmp_path / "astronaut.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 20.0, (512, 512))
    for _ in range(12):
        writer.write(cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR))
    writer.release()
    outputs = {}
    for flags in ([], ["--verbose"]):
        argv = ["calibrate", "--source", f"webcam:device={path}", "--delay", "0", "--frames", "5", *flags]
        with LiveProcess(argv, tmp_path / "config") as command:
            code, outputs[bool(flags)] = command.finish(timeout=120)
        assert code == 0, outputs[bool(flags)]
        assert "saved to" in outputs[bool(flags)]  # the face was tracked either way
    quiet, verbose = outputs[False], outputs[True]
    assert not any(line in quiet for line in NATIVE_CHATTER), quiet  # a quiet start: only our own lines
    assert all(line in verbose for line in NATIVE_CHATTER), verbose
    assert quiet.splitlines()[0].startswith("Relax your face")
