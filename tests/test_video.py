"""The video-file sink: write frames, read the file back with PyAV, and check what a viewer would see."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from media import write_tone

from vtube_plugin.errors import UserError
from vtube_plugin.sinks.background import over_background, parse_colour
from vtube_plugin.sinks.compose import VIDEO_GREY as DEFAULT_BACKGROUND
from vtube_plugin.sinks.compose import Background
from vtube_plugin.sinks.video import VideoWriter

RED = (230, 30, 30)


def _half_transparent(size: int = 256) -> np.ndarray:
    """Left half invisible, right half opaque red: the left must show the background colour."""
    frame = np.zeros((size, size, 4), np.uint8)
    frame[:, size // 2:] = (*RED, 255)
    return frame


def _decoded(path: Path) -> tuple[av.container.InputContainer, list[np.ndarray]]:
    container = av.open(str(path))
    frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    return container, frames


def _near(pixel: np.ndarray, colour: tuple[int, int, int], tolerance: int = 4) -> bool:
    return bool(np.all(np.abs(pixel.astype(int) - colour) <= tolerance))


def test_mp4_holds_every_frame_over_the_default_background(tmp_path):
    path = tmp_path / "clip.mp4"
    with VideoWriter(path, fps=24) as video:
        for _ in range(12):
            video.write(_half_transparent())

    container, frames = _decoded(path)
    stream = container.streams.video[0]
    assert (stream.codec_context.name, stream.codec_context.pix_fmt) == ("h264", "yuv420p")
    assert len(frames) == 12
    assert frames[0].shape == (256, 256, 3)
    assert float(stream.duration * stream.time_base) == pytest.approx(0.5)
    assert _near(frames[6][128, 40], DEFAULT_BACKGROUND)
    assert _near(frames[6][128, 200], RED)
    assert [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]  # the temporary name is gone


def test_webm_uses_vp9_and_the_chosen_background(tmp_path):
    path = tmp_path / "clip.webm"
    green = parse_colour("#00b140")
    with VideoWriter(path, fps=10, background=Background(green)) as video:
        for _ in range(5):
            video.write(_half_transparent())

    container, frames = _decoded(path)
    assert container.streams.video[0].codec_context.name == "vp9"
    assert len(frames) == 5
    assert container.duration / 1_000_000 == pytest.approx(0.5, abs=0.01)
    assert _near(frames[2][128, 40], green, tolerance=6)


def test_rgb_frames_are_written_as_they_are(tmp_path):
    path = tmp_path / "rgb.mp4"
    with VideoWriter(path, fps=30) as video:
        video.write(np.full((64, 96, 3), (40, 90, 200), np.uint8))

    _, [frame] = _decoded(path)
    assert frame.shape == (64, 96, 3)
    assert _near(frame[32, 48], (40, 90, 200))


@pytest.mark.parametrize("suffix, codec", [(".mp4", "aac"), (".webm", "opus")])
def test_the_sound_track_is_muxed_and_cut_at_the_video_length(tmp_path, suffix, codec):
    tone = write_tone(tmp_path / "tone.wav", seconds=2.0)
    path = tmp_path / f"talk{suffix}"
    with VideoWriter(path, fps=25, audio=tone) as video:
        for _ in range(25):
            video.write(_half_transparent())

    container = av.open(str(path))
    assert container.streams.audio[0].codec_context.name == codec
    sound = np.concatenate([frame.to_ndarray().reshape(-1) for frame in container.decode(audio=0)])
    assert len(sound) / 2 / 48_000 == pytest.approx(1.0, abs=0.01)  # stereo samples -> seconds
    # the tone's loudness survives: a sine at 12000/32768 has RMS 0.259, and mono spreads to stereo at -3 dB
    assert np.sqrt(np.mean(sound.astype(float) ** 2)) == pytest.approx(0.259 * 0.7071, rel=0.1)


def test_an_unsupported_extension_says_which_ones_work(tmp_path):
    with pytest.raises(UserError) as caught:
        VideoWriter(tmp_path / "clip.avi")
    assert str(caught.value) == "cannot write clip.avi: video files must end in .mp4 (H.264) or .webm (VP9)."


def test_a_missing_folder(tmp_path):
    with pytest.raises(UserError, match="the folder .*nowhere does not exist"):
        VideoWriter(tmp_path / "nowhere" / "clip.mp4")


def test_audio_from_a_file_without_sound(tmp_path):
    silent = tmp_path / "silent.mp4"
    with VideoWriter(silent) as video:
        video.write(_half_transparent())
    with pytest.raises(UserError, match="has no sound track"):
        VideoWriter(tmp_path / "out.mp4", audio=silent)


def test_an_error_while_recording_leaves_no_file(tmp_path):
    with pytest.raises(RuntimeError):
        with VideoWriter(tmp_path / "broken.mp4") as video:
            video.write(_half_transparent())
            raise RuntimeError("renderer crashed")
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_keeps_what_was_recorded(tmp_path):
    path = tmp_path / "stopped.mp4"
    with pytest.raises(KeyboardInterrupt):
        with VideoWriter(path, fps=30) as video:
            for _ in range(3):
                video.write(_half_transparent())
            raise KeyboardInterrupt

    _, frames = _decoded(path)
    assert len(frames) == 3


def test_no_frames_means_no_file(tmp_path):
    with pytest.raises(UserError, match="no frames were rendered"):
        with VideoWriter(tmp_path / "empty.mp4"):
            pass
    assert list(tmp_path.iterdir()) == []


def test_a_frame_of_another_size_is_refused(tmp_path):
    with pytest.raises(ValueError, match="frame is 128x128, but this video is 256x256"):
        with VideoWriter(tmp_path / "mixed.mp4") as video:
            video.write(_half_transparent(256))
            video.write(_half_transparent(128))
    assert list(tmp_path.iterdir()) == []


def test_half_transparent_pixels_mix_with_the_background():
    frame = np.array([[[255, 0, 0, 128]]], np.uint8)
    assert over_background(frame, (0, 0, 255)).tolist() == [[[128, 0, 127]]]


def _mixed_by_the_formula(frame, under):
    alpha = frame[..., 3:4].astype(np.uint32)
    return ((frame[..., :3] * alpha + np.asarray(under, np.uint32) * (255 - alpha) + 127) // 255).astype(np.uint8)


@pytest.mark.parametrize("edges", ["few", "mostly"])
def test_every_colour_alpha_and_background_mixes_exactly_by_the_formula(edges):
    # All 65536 (colour, alpha) pairs in red and (background, alpha) pairs in green, in a frame that is mostly
    # edges (the whole frame is mixed at once) or mostly transparent and opaque (only the edges are mixed).
    n = np.arange(256 * 256)
    frame = np.zeros((256 * 256, 1, 4), np.uint8)
    frame[:, 0, 0], frame[:, 0, 1], frame[:, 0, 2], frame[:, 0, 3] = n // 256, 7, 255 - n // 256, n % 256
    under = np.zeros((256 * 256, 1, 3), np.uint8)
    under[:, 0, 0], under[:, 0, 1], under[:, 0, 2] = 200, n // 256, 31
    if edges == "few":
        frame = np.concatenate([frame, np.zeros_like(frame)] * 4)
        frame[256 * 256 :: 2, 0, 3] = 255
        under = np.concatenate([under] * 8)
    for background in (under, (0, 255, 0)):
        assert np.array_equal(over_background(frame, background), _mixed_by_the_formula(frame, background))
    strided = frame[::3]  # a view, not a contiguous array
    assert np.array_equal(over_background(strided, (9, 8, 7)), _mixed_by_the_formula(strided, (9, 8, 7)))


@pytest.mark.parametrize("text, colour", [("#00b140", (0, 177, 64)), ("00B140", (0, 177, 64)),
                                          ("0,177,64", (0, 177, 64)), ("white", (255, 255, 255))])
def test_background_colours_a_user_can_type(text, colour):
    assert parse_colour(text) == colour


def test_a_colour_that_is_not_one():
    with pytest.raises(UserError, match="'greenish' is not a colour: use #rrggbb"):
        parse_colour("greenish")


def test_frames_given_their_times_play_in_real_time(tmp_path):
    path = tmp_path / "timed.mp4"
    with VideoWriter(path, fps=30) as video:
        for seconds in (0.0, 0.5, 1.2):  # three renders, slower than the frame rate and unevenly
            video.write(_half_transparent(), seconds)
        video.hold(2.0)  # the last one stays on screen until the stream stopped
    container, frames = _decoded(path)
    stream = container.streams.video[0]
    assert len(frames) == 3  # each picture once, no copies
    assert float(stream.duration * stream.time_base) == pytest.approx(2.0)
    starts = [float(f.pts * f.time_base) for f in av.open(str(path)).decode(video=0)]
    assert starts == pytest.approx([0.0, 0.5, 1.2], abs=1e-3)


def test_while_recording_the_file_is_called_partial(tmp_path):
    path = tmp_path / "take.mp4"
    with VideoWriter(path, fps=30) as video:
        video.write(_half_transparent())
        assert video.partial_path == tmp_path / "take.partial.mp4" and video.partial_path.is_file()
        assert not path.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["take.mp4"]


def test_an_earlier_partial_recording_is_never_overwritten(tmp_path):
    earlier = tmp_path / "take.partial.mp4"
    earlier.write_bytes(b"what a crash left")
    with VideoWriter(tmp_path / "take.mp4", fps=30) as video:
        video.write(_half_transparent())
        assert video.partial_path == tmp_path / "take.partial-2.mp4"
    assert earlier.read_bytes() == b"what a crash left"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["take.mp4", "take.partial.mp4"]


@pytest.mark.parametrize("suffix", [".mp4", ".webm"])
def test_a_live_recording_that_fails_is_kept_under_its_partial_name(tmp_path, suffix):
    path = tmp_path / f"take{suffix}"
    with pytest.raises(RuntimeError):
        with VideoWriter(path, fps=30, live=True) as video:
            for _ in range(4):
                video.write(_half_transparent())
            raise RuntimeError("renderer crashed")
    assert [p.name for p in tmp_path.iterdir()] == [f"take.partial{suffix}"]
    _, frames = _decoded(tmp_path / f"take.partial{suffix}")
    assert len(frames) == 4
