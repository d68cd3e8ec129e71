"""The video-file sink: rendered frames go into an MP4 (H.264) or WebM (VP9) file over a background colour,
optionally with a sound track; the file appears under its name only once it is complete.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from vtube_plugin.errors import UserError
from vtube_plugin.sinks.compose import VIDEO_GREY, Background, Compositor

AUDIO_RATE = 48_000  # every audio encoder we use takes it (Opus takes little else)


@dataclass(frozen=True)
class _Format:
    container: str
    video_encoders: tuple[str, ...]  # first one this PyAV build has wins
    audio_encoders: tuple[str, ...]
    video_options: dict[str, str]
    container_options: dict[str, str] = field(default_factory=dict)


FORMATS = {
    # crf 18: visually lossless for flat-shaded anime art at 512 px; faststart lets browsers play at once
    ".mp4": _Format("mp4", ("libx264", "libopenh264"), ("aac",), {"crf": "18"}, {"movflags": "+faststart"}),
    # VP9 in constant-quality mode (b=0 + crf); cpu-used 4 and row-mt keep it usable on two cores
    ".webm": _Format("webm", ("libvpx-vp9",), ("libopus", "libvorbis"),
                     {"crf": "32", "b": "0", "deadline": "good", "cpu-used": "4", "row-mt": "1"}),
}


def _first_encoder(names: tuple[str, ...], what: str) -> str:
    for name in names:
        try:
            av.Codec(name, "w")
            return name
        except Exception:  # PyAV raises its own UnknownCodecError subclasses, version-dependent
            continue
    raise UserError(f"this PyAV build has no {what} encoder ({' or '.join(names)}); "
                    "reinstall PyAV from PyPI (`pip install --force-reinstall av`), whose wheels include them.")


class VideoWriter:
    """Write frames to `path` (.mp4 or .webm) at `fps`, RGBA frames over `background`.

    Use as a context manager. The file is written under a hidden temporary name in the same folder and
    renamed when the writer closes cleanly; on an error it is removed. Ctrl-C (KeyboardInterrupt) counts
    as "stop recording": what was written so far is kept. Audio from `audio` (any file FFmpeg reads with
    a sound track) is re-encoded into the file and cut at the video's length.
    """

    def __init__(self, path: str | Path, fps: float = 30, background: Background = Background(VIDEO_GREY),
                 audio: str | Path | None = None):
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
        self.frames_written = 0
        self._audio: Path | None = None
        self._container = None
        self._stream = None
        self._tmp: Path | None = None
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
        if kind is None or issubclass(kind, KeyboardInterrupt):
            self.close()
        else:
            self._discard()

    def write(self, frame: np.ndarray) -> None:
        """Append one frame: uint8 (height, width, 3) RGB or (height, width, 4) RGBA with straight alpha."""
        rgb = self._compose(frame)
        height, width = rgb.shape[:2]
        if self._container is None:
            self._open(width, height)
        elif (width, height) != (self._stream.width, self._stream.height):
            raise ValueError(f"frame is {width}x{height}, but this video is {self._stream.width}x{self._stream.height}")
        picture = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        picture.pts = self.frames_written
        self._container.mux(self._stream.encode(picture))
        self.frames_written += 1

    def close(self) -> None:
        """Finish the file and give it its name. Without any frame there is no video: nothing is kept."""
        if self._container is None:
            raise UserError(f"no frames were rendered, so {self.path} was not written.")
        try:
            self._container.mux(self._stream.encode())
            if self._audio is not None:
                self._mux_audio(Fraction(self.frames_written) / self.fps)
            self._container.close()
        except BaseException:
            self._discard()
            raise
        self._container = None
        self._tmp.chmod(0o644)  # mkstemp made it private; a finished video is an ordinary file
        os.replace(self._tmp, self.path)

    def _open(self, width: int, height: int) -> None:
        if width % 2 or height % 2:
            raise ValueError(f"frame is {width}x{height}; 4:2:0 video needs an even width and height")
        fd, name = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.stem}.", suffix=".part")
        os.close(fd)
        self._tmp = Path(name)
        try:
            self._container = av.open(name, "w", format=self._format.container,
                                      options=self._format.container_options)
        except (OSError, av.FFmpegError) as err:
            self._tmp.unlink(missing_ok=True)
            raise UserError(f"cannot write {self.path} ({err}).") from None
        self._stream = self._container.add_stream(self._video_encoder, rate=self.fps,
                                                  options=self._format.video_options)
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
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)


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
