"""Track a face from a webcam (or a video file) with MediaPipe's FaceLandmarker: 52 ARKit-named blendshapes
and the head rotation from its facial transformation matrix.

The matrix maps MediaPipe's canonical face into camera space (x toward the image's right, y up, z toward
the camera). Facing the camera, a person's own left is the image's right, so camera space is already our
person frame (l, u, f) and `rotation.angles_from_matrix` reads (pitch, yaw, roll) off it directly.
`mirror=True` is for cameras that deliver a mirror image (a "selfie view"): the picture is flipped back
before tracking, which is what swapping every Left/Right name and negating yaw and roll would do, but
without asking the model to read a mirrored face (its left/right outputs are not exactly symmetric).
"""

from __future__ import annotations

import os
import time
from collections import deque
from pathlib import Path

import numpy as np

from vtube_plugin.errors import UserError
from vtube_plugin.models.store import landmarker_path
from vtube_plugin.sources.base import Source
from vtube_plugin.sources.frame import FaceFrame
from vtube_plugin.sources.native_logs import QuietNativeLogs
from vtube_plugin.sources.rotation import angles_from_matrix

# MediaPipe (glog, TensorFlow Lite) and OpenCV print INFO/WARN lines a streamer cannot act on, and a missing
# camera's raw OpenCV trace would bury our own message; keep their errors, drop the chatter. They read these
# when they load, so `_quiet_native_logs` runs just before the first import of either, never at our import.
RETRY_FIRST = 0.5  # seconds before the first try to open a camera that went away; doubled after each failed try
RETRY_MOST = 8.0
GONE_AFTER = 20  # pictures a camera fails to give in a row (a second's worth) before it counts as gone

QUIET_LOGS = (("GLOG_minloglevel", "2"), ("TF_CPP_MIN_LOG_LEVEL", "2"), ("OPENCV_LOG_LEVEL", "FATAL"),
              ("OPENCV_VIDEOIO_DEBUG", "0"))


def _quiet_native_logs() -> None:
    for name, level in QUIET_LOGS:
        os.environ.setdefault(name, level)


def find_landmarker(path: str | Path | None = None) -> Path:
    """The face_landmarker.task to use: `path` if given, else the one `vtube-plugin models fetch` stored."""
    model = Path(path).expanduser() if path else landmarker_path()
    if not model.is_file():
        if path:
            raise UserError(f"landmarker={path}: no such file. Give the path of a MediaPipe face_landmarker.task.")
        raise UserError(
            f"the MediaPipe face landmarker model is not at {model}. Run `vtube-plugin models fetch` once "
            "(it downloads it), or pass landmarker=PATH to a face_landmarker.task you already have."
        )
    return model


def _mediapipe():
    _quiet_native_logs()
    try:
        import mediapipe
        from mediapipe.tasks.python import BaseOptions, vision
    except ImportError:
        raise UserError("webcam tracking needs MediaPipe: pip install mediapipe") from None
    return mediapipe, BaseOptions, vision


# MediaPipe logs its start-up from C++ until the first pictures have gone through the graph's threads.
QUIET_PICTURES = 3


class FaceTracker:
    """MediaPipe FaceLandmarker wrapped to return FaceFrames. `video=True` tracks between pictures of a
    stream (faster, steadier); False treats every picture on its own (stills). Its own log lines are hidden
    (sources/native_logs.py) unless `verbose`."""

    def __init__(self, landmarker: str | Path | None = None, video: bool = False, mirror: bool = False,
                 verbose: bool = False) -> None:
        self._quiet = QuietNativeLogs(verbose)
        self._pictures = 0
        self._quiet.start()
        try:
            self._make(landmarker, video, mirror)
        except BaseException:
            self._quiet.stop()
            raise

    def _make(self, landmarker: str | Path | None, video: bool, mirror: bool) -> None:
        mp, base_options, vision = _mediapipe()
        self._mp = mp
        self.mirror = mirror
        self.video = video
        options = vision.FaceLandmarkerOptions(
            base_options=base_options(model_asset_path=str(find_landmarker(landmarker))),
            running_mode=vision.RunningMode.VIDEO if video else vision.RunningMode.IMAGE,
            num_faces=1,
            output_face_blendshapes=True,
            output_facial_transformation_matrixes=True,
        )
        try:
            self._landmarker = vision.FaceLandmarker.create_from_options(options)
        except (RuntimeError, ValueError) as err:
            raise UserError(f"MediaPipe could not load the face landmarker model ({err}). "
                            "Is it a face_landmarker.task file?") from None
        self._last_ms = -1

    def track(self, rgb: np.ndarray) -> FaceFrame | None:
        """A FaceFrame for an RGB uint8 picture (H, W, 3), or None when no face is found."""
        if self.mirror:
            rgb = rgb[:, ::-1]
        image = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb, dtype=np.uint8))
        if self.video:
            # VIDEO mode wants strictly increasing timestamps in milliseconds.
            self._last_ms = max(self._last_ms + 1, int(time.monotonic() * 1000))
            result = self._landmarker.detect_for_video(image, self._last_ms)
        else:
            result = self._landmarker.detect(image)
        self._pictures += 1
        if self._pictures == QUIET_PICTURES:
            self._quiet.stop()
        if not result.face_blendshapes:
            return None
        shapes = {
            c.category_name: min(max(float(c.score), 0.0), 1.0)
            for c in result.face_blendshapes[0]
            if not c.category_name.startswith("_")  # "_neutral" is no ARKit name
        }
        head = None
        if result.facial_transformation_matrixes:
            head = angles_from_matrix(np.asarray(result.facial_transformation_matrixes[0])[:3, :3].tolist())
        return FaceFrame(blendshapes=shapes, head=head, timestamp=time.monotonic(), source="webcam")

    def close(self) -> None:
        self._landmarker.close()
        self._quiet.stop()

    def __enter__(self) -> FaceTracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def face_frame_from_image(rgb: np.ndarray, landmarker: str | Path | None = None,
                          mirror: bool = False) -> FaceFrame | None:
    """Track one still picture (RGB uint8): its FaceFrame, or None when there is no face."""
    with FaceTracker(landmarker, video=False, mirror=mirror) as tracker:
        return tracker.track(rgb)


class WebcamSource(Source):
    """FaceFrames from a camera (`device=0`, `1`, ...) or a video file (`device=path`, played in real time,
    looping). Capture and tracking both run on the source's thread.

    A camera that stops giving pictures (unplugged, taken by another program), or a video file that is gone or
    cannot be read when it starts again, is said once; it is tried again after `retry_after` seconds, then after
    twice that, up to RETRY_MOST, and its return is said once. Meanwhile the stream goes on (idle life)."""

    name = "webcam"
    OPTIONS = {"device": str, "width": int, "height": int, "fps": float, "mirror": bool, "landmarker": str,
               "loop": bool, "verbose": bool}
    WAITING_HINT = "is your face in view of camera {device}, with enough light?"
    FLAGS = {"camera": ("device", "camera number (default 0)"),
             "landmarker": ("landmarker", "MediaPipe face_landmarker.task (default: the one `models fetch` stored)"),
             "mirror": ("mirror", "mirror the image, so the character moves like your reflection"),
             "verbose": ("verbose", "also show MediaPipe's and TensorFlow Lite's own start-up log lines")}

    def __init__(
        self,
        device: int | str = 0,
        width: int = 640,
        height: int = 480,
        fps: float = 30.0,
        mirror: bool = False,
        landmarker: str | Path | None = None,
        loop: bool = True,
        retry_after: float = RETRY_FIRST,
        verbose: bool = False,
    ) -> None:
        super().__init__()
        self.device = int(device) if isinstance(device, str) and device.strip().isdigit() else device
        self.width, self.height, self.fps = width, height, fps
        self.mirror = mirror
        self.landmarker = landmarker
        self.loop = loop
        self.retry_after = retry_after
        self.verbose = verbose
        self.finished = False  # a video file played to its end (loop=False)
        self.outages = 0  # times the camera went away
        self.retries = 0  # tries to open it again
        self.retry_waits: deque[float] = deque(maxlen=16)  # the pauses before the latest tries
        self.away_since: float | None = None  # when it went away; None while it gives pictures
        self._capture = None
        self._tracker: FaceTracker | None = None
        self._file_fps = 0.0

    @property
    def is_file(self) -> bool:
        return not isinstance(self.device, int)

    @property
    def _what(self) -> str:
        return f"the video file {self.device}" if self.is_file else f"camera {self.device}"

    def _open(self) -> None:
        _quiet_native_logs()
        try:
            import cv2  # noqa: F401 - said here, before the landmarker loads
        except ImportError:
            raise UserError("webcam tracking needs OpenCV: pip install opencv-contrib-python "
                            "(MediaPipe installs it)") from None
        self._tracker = FaceTracker(self.landmarker, video=True, mirror=self.mirror, verbose=self.verbose)
        self._capture = self._open_capture()

    def _open_capture(self):
        """An opened cv2.VideoCapture, or a UserError that says what to check."""
        import cv2

        if self.is_file:
            path = Path(str(self.device)).expanduser()
            if not path.is_file():
                raise UserError(f"device={self.device}: no camera index and no video file there. "
                                "Use 0 for the first camera.")
            capture = cv2.VideoCapture(str(path))
        else:
            capture = cv2.VideoCapture(self.device)
        if not capture.isOpened():
            capture.release()
            hint = (
                "Is it a video format OpenCV can read (mp4, avi, mkv)?"
                if self.is_file
                else "Close other programs that use the camera (OBS, Zoom, Discord, another tracker), "
                "check it is plugged in, or try another index (device=1, device=2)."
            )
            raise UserError(f"could not open {self._what}. {hint}")
        if self.is_file:
            self._file_fps = capture.get(cv2.CAP_PROP_FPS) or self.fps
        else:
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
            capture.set(cv2.CAP_PROP_FPS, self.fps)
        return capture

    def _release(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None

    def _close(self) -> None:
        self._release()
        if self._tracker is not None:
            self._tracker.close()
            self._tracker = None

    def _gone(self, why: str) -> None:
        """The camera gives nothing: let it go, and say so unless it was already away."""
        self._release()
        if self.away_since is None:
            self.away_since = time.monotonic()
            self.outages += 1
            self.say(f"webcam: {self._what} {why}; idle life until it is back (trying again after "
                     f"{self.retry_after:g} s, then less often, every {RETRY_MOST:g} s at most)")
        self._notify()

    def _reopen(self) -> bool:
        """Try again with a growing pause until it opens (True) or the source stops (False)."""
        wait = self.retry_after
        while not self._stopping.wait(wait):
            self.retries += 1
            self.retry_waits.append(wait)
            try:
                self._capture = self._open_capture()
                return True
            except UserError:
                wait = min(wait * 2, RETRY_MOST)
                self._notify()
        return False

    def _loop(self) -> None:
        import cv2

        tracker = self._tracker
        assert tracker is not None
        next_due = time.monotonic()
        failures = 0
        pictures = 0  # from this capture: a file that gives none from its start cannot be read
        while not self._stopping.is_set():
            if self._capture is None:
                if not self._reopen():
                    return
                next_due, failures, pictures = time.monotonic(), 0, 0
            ok, bgr = self._capture.read()
            if not ok:
                if self.is_file and pictures and not self.loop:
                    self.finished = True
                    self._notify()
                    return
                if self.is_file and pictures:  # its end: start again, opened afresh by its name
                    self._release()
                    try:
                        self._capture = self._open_capture()
                    except UserError:
                        self._gone("is gone")
                    pictures = 0
                    continue
                if self.is_file:
                    self._gone("cannot be read")
                    continue
                failures += 1  # a camera hiccup; it is gone only if it lasts
                self._drop("camera gave no picture")
                if failures >= GONE_AFTER:
                    self._gone("gives no pictures (unplugged, or taken by another program?)")
                    continue
                self._stopping.wait(0.05)
                continue
            failures = 0
            pictures += 1
            arrived = time.monotonic()  # latency counts the face detection too
            if self.away_since is not None:
                self.say(f"webcam: {self._what} is back after {arrived - self.away_since:.1f} s; tracking again")
                self.away_since = None
            try:
                frame = tracker.track(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            except Exception as err:  # one bad picture must not end tracking
                frame = None
                self._drop(f"unexpected {type(err).__name__}")
            else:
                if frame is None:
                    self._drop("no face in the picture")
                else:
                    frame.timestamp = arrived
                    self._publish(frame)
            self._received()
            if self.is_file:  # a file plays at its own frame rate, like a camera would deliver it
                next_due += 1.0 / self._file_fps
                self._stopping.wait(max(0.0, next_due - time.monotonic()))
