"""The video-file sink: rendered frames go into an MP4 (H.264) or WebM (VP9) file over a background colour,
optionally with a sound track; the file carries its name only once complete, `NAME.partial.mp4` until then.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from vtube_plugin.errors import UserError
from vtube_plugin.sinks.compose import VIDEO_GREY, Background, Compositor

AUDIO_RATE = 48_000  # every audio encoder we use takes it (Opus takes little else)
# What a write says when the disk (or the user's quota, or the largest file it takes) has no more room.
NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


class DiskFull(OSError):
    """A live recording ran out of room: it is cut back to its last whole second and kept under its partial
    name (`str()` says so to the user); nothing more is written to it."""

    def __str__(self) -> str:
        return self.strerror


@dataclass(frozen=True)
class _Format:
    container: str
    video_encoders: tuple[str, ...]  # first one this PyAV build has wins
    audio_encoders: tuple[str, ...]
    video_options: dict[str, str]
    container_options: dict[str, str] = field(default_factory=dict)


FORMATS = {
    # crf 18: visually lossless for flat-shaded anime art at 512 px. Fragmented MP4 (as OBS records it) with a
    # fragment each second, flushed at once: a killed process still leaves a playable file of all but the
    # last second, and the index at the start lets browsers play it at once. No B-frames: frames then leave
    # the encoder in the order they show, so each keeps the length its time gives it (bf=0).
    ".mp4": _Format("mp4", ("libx264", "libopenh264"), ("aac",), {"crf": "18", "bf": "0"},
                    {"movflags": "+frag_keyframe+delay_moov+default_base_moof", "frag_duration": "1000000",
                     "flush_packets": "1"}),
    # VP9 in constant-quality mode (b=0 + crf); cpu-used 4 and row-mt keep it usable on two cores.
    # Matroska is readable when cut off anywhere; one cluster a second keeps what a crash loses short.
    ".webm": _Format("webm", ("libvpx-vp9",), ("libopus", "libvorbis"),
                     {"crf": "32", "b": "0", "deadline": "good", "cpu-used": "4", "row-mt": "1"},
                     {"cluster_time_limit": "1000", "flush_packets": "1"}),
}
# Live recordings: no frames held back inside the encoder (x264 lookahead and B-frames, VP9's alt-ref lag),
# so what was streamed is on disk within a second, not 40 frames later.
LIVE_VIDEO_OPTIONS = {"libx264": {"tune": "zerolatency"}, "libvpx-vp9": {"lag-in-frames": "0"}}


def _first_encoder(names: tuple[str, ...], what: str) -> str:
    for name in names:
        try:
            av.Codec(name, "w")
            return name
        except Exception:  # PyAV raises its own UnknownCodecError subclasses, version-dependent
            continue
    raise UserError(f"this PyAV build has no {what} encoder ({' or '.join(names)}); "
                    "reinstall PyAV from PyPI (`pip install --force-reinstall av`), whose wheels include them.")


def partial_name(path: Path) -> Path:
    """`take.mp4` -> `take.partial.mp4`: what a recording is called until it is finished."""
    return path.with_name(f"{path.stem}.partial{path.suffix}")


class VideoWriter:
    """Write frames to `path` (.mp4 or .webm) at `fps`, RGBA frames over `background`.

    Use as a context manager. The file is written as `NAME.partial.mp4` in the same folder (never over an
    earlier partial file) and renamed when the writer closes cleanly; Ctrl-C (KeyboardInterrupt) counts as
    "stop recording": what was written so far is kept. On an error it is removed, unless `live`: a live
    recording is then finished and kept under its partial name, and a killed process leaves that file too,
    playable up to its last second. Audio from `audio` (any file FFmpeg reads with a sound track) is
    re-encoded into the file and cut at the video's length.

    Frames are one frame period apart, unless `write` is given each frame's time: then each frame shows
    from its own time to the next one's (`hold` extends the newest), so the video runs in real time
    however unevenly the frames came.
    """

    def __init__(self, path: str | Path, fps: float = 30, background: Background = Background(VIDEO_GREY),
                 audio: str | Path | None = None, *, live: bool = False):
        self.path = Path(path).expanduser()
        suffix = self.path.suffix.lower()
        if suffix not in FORMATS:
            raise UserError(f"cannot write {self.path.name}: video files must end in .mp4 (H.264) or .webm (VP9).")
        if not self.path.parent.is_dir():
            raise UserError(f"cannot write {self.path}: the folder {self.path.parent} does not exist.")
        if not fps > 0:
            raise UserError(f"the frame rate must be above 0, not {fps}.")
        self._format = FORMATS[suffix]
        self._video_encoder = _first_encoder(self._format.video_encoders, f"{suffix[1:].upper()} video")
        self.fps = Fraction(fps).limit_denominator(1001)
        self.background = background
        self._compose = Compositor(None, background)  # frames keep their size: the first one's is the video's
        self.live = live
        self.frames_written = 0
        self.partial_path: Path | None = None  # where the file is while being written (None before a frame)
        self._audio: Path | None = None
        self._container = None
        self._stream = None
        self._pending: tuple[av.VideoFrame, int] | None = None  # the newest frame, encoded once its length is known
        self._next_pts = 0  # in frame periods
        self._end_pts = 0  # where the newest frame ends
        self._durations: dict[int, int] = {}  # pts -> frame periods, for packets still inside the encoder
        self._whole_bytes = 0  # the file's size after the last write that went through: it ends a fragment there
        self.full = False  # the disk filled: the file was cut back and closed (DiskFull)
        if audio is not None:
            self.add_audio(audio)

    def add_audio(self, path: str | Path) -> None:
        """Put the sound track of `path` into the video (call before the first frame)."""
        if self._container is not None:
            raise RuntimeError("add_audio() must come before the first write()")
        path = Path(path).expanduser()
        try:
            with av.open(str(path)) as source:
                has_audio = bool(source.streams.audio)
        except (OSError, av.FFmpegError) as err:
            raise UserError(f"cannot read the sound from {path} ({err}).") from None
        if not has_audio:
            raise UserError(f"{path} has no sound track to put into {self.path.name}.")
        self._audio_encoder = _first_encoder(self._format.audio_encoders, f"{self.path.suffix[1:].upper()} audio")
        self._audio = path

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, kind, error, traceback) -> None:
        if self.full:
            return  # already cut back and closed, under its partial name
        if kind is None or issubclass(kind, KeyboardInterrupt):
            self.close()
        elif self.live and self._container is not None:
            self._finish_partial()
        else:
            self._discard()

    def write(self, frame: np.ndarray, time: float | None = None) -> None:
        """Append one frame: uint8 (height, width, 3) RGB or (height, width, 4) RGBA with straight alpha.
        `time`: seconds from the start of the video at which it shows (None: one period after the last)."""
        rgb = self._compose(frame)
        height, width = rgb.shape[:2]
        if self._container is None:
            self._open(width, height)
        elif (width, height) != (self._stream.width, self._stream.height):
            raise ValueError(f"frame is {width}x{height}, but this video is {self._stream.width}x{self._stream.height}")
        pts = self._next_pts if time is None else max(self._next_pts, round(time * self.fps))
        self._encode_pending(pts)
        self._pending = (av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24"), pts)
        self._next_pts = self._end_pts = pts + 1
        self.frames_written += 1

    def hold(self, time: float) -> None:
        """The newest frame stays on screen until `time` (seconds from the start): a repeated frame costs
        no encoding, yet the video lasts as long as the stream did."""
        self._end_pts = max(self._end_pts, round(time * self.fps))
        self._next_pts = max(self._next_pts, self._end_pts)

    @property
    def duration(self) -> float:
        """Seconds of video so far."""
        return float(Fraction(self._end_pts) / self.fps)

    def close(self) -> None:
        """Finish the file and give it its name. Without any frame there is no video: nothing is kept."""
        if self._container is None:
            raise UserError(f"no frames were rendered, so {self.path} was not written.")
        try:
            self._finish()
        except OSError as err:
            if self.live and err.errno in NO_ROOM and not isinstance(err, DiskFull):
                self._cut_back(err)  # the end did not fit: keep what did
            if not self.full:
                self._discard()
            raise
        except BaseException:
            self._discard()
            raise
        self.partial_path.chmod(0o644)
        os.replace(self.partial_path, self.path)

    def _finish(self) -> None:
        self._encode_pending(self._end_pts)
        for packet in self._stream.encode():
            self._mux_video(packet)
        if self._audio is not None:
            self._mux_audio(Fraction(self._end_pts) / self.fps)
        self._container.close()
        self._container = None

    def _finish_partial(self) -> None:
        """After an error in a live recording: close the file properly, under its partial name."""
        try:
            self._finish()
        except Exception:
            self._container = None  # what the last fragments hold stays readable

    def _encode_pending(self, until_pts: int) -> None:
        """Encode the frame waiting for its length: it lasts until `until_pts`."""
        if self._pending is None:
            return
        picture, pts = self._pending
        self._pending = None
        picture.pts = pts
        self._durations[pts] = max(until_pts - pts, 1)
        for packet in self._stream.encode(picture):
            self._mux_video(packet)

    def _mux_video(self, packet: av.Packet) -> None:
        # The muxer takes a frame's length from its packet; the encoder does not carry it over.
        packet.duration = self._durations.pop(packet.pts, 1)
        try:
            self._container.mux(packet)
        except OSError as err:
            if self.live and err.errno in NO_ROOM:
                self._cut_back(err)
            raise
        if self.live:
            self._whole_bytes = os.stat(self.partial_path).st_size

    def _cut_back(self, err: OSError) -> None:
        """The disk is full: the last fragment went out half written. Cut the file back to where the last
        whole one ended, so it plays to there, and raise DiskFull with what to tell the user."""
        self.full = True
        container, self._container = self._container, None
        try:
            container.close()  # writes what it can of the end; the cut below undoes a half-written part
        except Exception:  # noqa: BLE001 - the disk is still full
            pass
        reason = f"the recording to {self.path} stopped: the disk is full ({err.strerror or 'no space left'})"
        advice = "Free some space (or record to another disk) before the next recording."
        if self._whole_bytes == 0:  # not one whole second went out: there is nothing to play
            self.partial_path.unlink(missing_ok=True)
            raise DiskFull(err.errno, f"{reason}, before a whole second was written: nothing of it could be kept. "
                                      f"The stream goes on. {advice}") from err
        try:
            os.truncate(self.partial_path, self._whole_bytes)
        except OSError:
            pass  # the file stays as it is: players read its whole fragments and stop at the broken one
        raise DiskFull(err.errno, f"{reason}. What was recorded until then is kept in {self.partial_path} and "
                                  f"plays; the stream goes on. {advice}") from err

    def _reserve_partial_path(self) -> Path:
        """`take.partial.mp4`, or `take.partial-2.mp4`... when an earlier recording left one behind."""
        first = partial_name(self.path)
        for n in range(1, 1000):
            candidate = first if n == 1 else first.with_name(f"{self.path.stem}.partial-{n}{self.path.suffix}")
            try:
                os.close(os.open(candidate, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
            except FileExistsError:
                continue
            except OSError as err:
                raise UserError(f"cannot write {self.path} ({err.strerror or err}).") from None
            return candidate
        raise UserError(f"cannot write {self.path}: 999 partial recordings of it are in {self.path.parent}; "
                        "move them away.")

    def _open(self, width: int, height: int) -> None:
        if width % 2 or height % 2:
            raise ValueError(f"frame is {width}x{height}; 4:2:0 video needs an even width and height")
        self.partial_path = self._reserve_partial_path()
        try:
            self._container = av.open(str(self.partial_path), "w", format=self._format.container,
                                      options=self._format.container_options)
        except (OSError, av.FFmpegError) as err:
            self.partial_path.unlink(missing_ok=True)
            raise UserError(f"cannot write {self.path} ({err}).") from None
        options = dict(self._format.video_options)
        if self.live:
            options.update(LIVE_VIDEO_OPTIONS.get(self._video_encoder, {}))
        self._stream = self._container.add_stream(self._video_encoder, rate=self.fps, options=options)
        self._stream.width, self._stream.height, self._stream.pix_fmt = width, height, "yuv420p"
        if self._audio is not None:
            self._audio_stream = self._container.add_stream(self._audio_encoder, rate=AUDIO_RATE, layout="stereo")

    def _mux_audio(self, duration: Fraction) -> None:
        stream = self._audio_stream
        resampler = av.AudioResampler(format=stream.codec_context.format, layout="stereo", rate=AUDIO_RATE)
        limit = int(duration * AUDIO_RATE)
        samples = 0
        with av.open(str(self._audio)) as source:
            for decoded in source.decode(audio=0):
                for chunk in resampler.resample(decoded):
                    if samples + chunk.samples > limit:
                        chunk = _first_samples(chunk, limit - samples)
                    if chunk is None:
                        break
                    chunk.pts, samples = samples, samples + chunk.samples
                    self._container.mux(stream.encode(chunk))
                if samples >= limit:
                    break
        self._container.mux(stream.encode())

    def _discard(self) -> None:
        """Drop the half-written file: an error must not leave something that looks like a video."""
        if self._container is not None:
            try:
                self._container.close()
            except Exception:
                pass  # already failing; the temporary file goes either way
            self._container = None
        if self.partial_path is not None:
            self.partial_path.unlink(missing_ok=True)


def _first_samples(chunk: av.AudioFrame, count: int) -> av.AudioFrame | None:
    """The first `count` samples of an audio frame (None for none): the sound stops where the video does."""
    if count <= 0:
        return None
    data = chunk.to_ndarray()
    # planar: one row per channel; packed: channels interleaved in a single row
    keep = count if chunk.format.is_planar else count * len(chunk.layout.channels)
    cut = av.AudioFrame.from_ndarray(np.ascontiguousarray(data[:, :keep]), format=chunk.format.name,
                                     layout=chunk.layout.name)
    cut.sample_rate = chunk.sample_rate
    return cut
