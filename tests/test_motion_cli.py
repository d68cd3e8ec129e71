"""`vtube-plugin motion` and `render-track` as a user runs them: pose tracks out, videos out, and clear
refusals of bad files that leave nothing behind. The render tests use the real THA3 weights."""

from __future__ import annotations

import json

import av
import numpy as np
import pytest
from media import write_tone
from vmd_writer import LINEAR, quaternion, write_vmd

from vtube_plugin.cli import main
from vtube_plugin.pose import NAMES


def talk_and_nod(path):
    """One second: the mouth opens for あ at 0.5 s while the head nods up 15 degrees; a blink at frame 20."""
    return write_vmd(
        path,
        bones=[("頭", 0, quaternion("x", 0), LINEAR), ("頭", 30, quaternion("x", 15), LINEAR)],
        morphs=[("あ", 0, 0.0), ("あ", 15, 1.0), ("あ", 30, 0.0), ("まばたき", 20, 1.0),
                ("ぺろっ", 0, 1.0), ("ぺろっ", 10, 0.0)],
    )


def read_lines(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_poses_out_writes_one_line_a_frame_with_time_and_the_45_values(tmp_path, capsys):
    track = tmp_path / "talk.jsonl"
    assert main(["motion", str(talk_and_nod(tmp_path / "talk.vmd")), "--poses-out", str(track)]) == 0

    lines = read_lines(track)
    assert len(lines) == 31
    assert list(lines[0]) == ["time", *NAMES]
    assert lines[15]["time"] == pytest.approx(0.5)
    assert lines[15]["mouth_aaa"] == pytest.approx(1.0) and lines[30]["mouth_aaa"] == pytest.approx(0.0)
    assert lines[15]["head_x"] == pytest.approx(0.5, abs=1e-3) and lines[30]["head_x"] == pytest.approx(1.0, abs=1e-3)
    assert lines[25]["eye_wink_left"] == pytest.approx(1.0)  # the blink holds after its key
    err = capsys.readouterr().err
    assert err.count("ぺろっ") == 1 and "ignored" in err  # two keys, named once
    assert sorted(p.name for p in tmp_path.iterdir()) == ["talk.jsonl", "talk.vmd"]  # no temporary left


def test_an_exported_track_reads_back_to_the_same_frames(tmp_path):
    from vtube_plugin.motion.pose_track import PoseTrack
    from vtube_plugin.motion.profile import load_profile
    from vtube_plugin.motion.vmd import read_vmd

    motion = talk_and_nod(tmp_path / "talk.vmd")
    assert main(["motion", str(motion), "--poses-out", str(tmp_path / "talk.jsonl")]) == 0
    exported = load_profile("vmd").track(read_vmd(motion))
    back = PoseTrack.read_jsonl(tmp_path / "talk.jsonl")
    assert back.frame_count(30) == len(exported) == 31
    sampled = np.stack([pose.as_array() for pose in back.poses(30)])
    assert sampled == pytest.approx(exported.values, abs=1e-6)


def test_poses_out_at_60_fps_has_twice_the_lines(tmp_path):
    track = tmp_path / "talk.jsonl"
    assert main(["motion", str(talk_and_nod(tmp_path / "talk.vmd")), "--poses-out", str(track), "--fps", "60"]) == 0
    lines = read_lines(track)
    assert len(lines) == 61 and lines[1]["time"] == pytest.approx(1 / 60)


def test_old_format_header_is_read(tmp_path):
    old = write_vmd(tmp_path / "old.vmd", morphs=[("あ", 0, 0.25)], old_header=True)
    assert main(["motion", str(old), "--poses-out", str(tmp_path / "old.jsonl")]) == 0
    assert read_lines(tmp_path / "old.jsonl")[0]["mouth_aaa"] == pytest.approx(0.25)


@pytest.mark.parametrize("content, message", [
    (b"not a motion at all" + bytes(60), "is not an MMD motion file"),
    (None, "truncated: it promises 2 bone keyframes but holds only 1"),
    (b"Vocaloid Motion Data 0002\0\0\0\0\0" + bytes(20) + bytes(12), "has no bone or morph keyframes"),
], ids=["not vmd", "truncated", "camera only"])
def test_bad_motion_files_exit_2_with_a_message_and_leave_no_output(tmp_path, capsys, content, message):
    bad = tmp_path / "bad.vmd"
    if content is None:
        content = talk_and_nod(tmp_path / "whole.vmd").read_bytes()[:200]  # the header, then 1.3 of 2 bone records
    bad.write_bytes(content)
    before = set(tmp_path.iterdir())
    code = main(["motion", str(bad), "--poses-out", str(tmp_path / "p.jsonl"), "-o", str(tmp_path / "v.mp4")])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and "Traceback" not in err
    assert set(tmp_path.iterdir()) == before


@pytest.mark.parametrize("extra, message", [
    ([], "-o OUT.mp4 renders a video, --poses-out FILE.jsonl writes the pose track"),
    (["--poses-out", "{tmp}/p.jsonl", "--profile", "nosuch"], "motion profile not found: nosuch"),
    (["-o", "{tmp}/v.avi"], "must end in .mp4"),
    (["-o", "{tmp}/v.mp4", "--audio", "{tmp}/missing.wav"], "missing.wav"),
    (["-o", "{tmp}/nofolder/v.mp4"], "does not exist"),
], ids=["no output", "no profile", "avi", "no audio", "no folder"])
def test_option_mistakes_exit_2_before_any_rendering(tmp_path, capsys, extra, message):
    motion = talk_and_nod(tmp_path / "talk.vmd")
    code = main(["motion", str(motion), *[e.format(tmp=tmp_path) for e in extra]])
    assert code == 2
    assert message in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["talk.vmd"]


def test_a_motion_nothing_in_the_profile_uses_is_refused(tmp_path, capsys):
    motion = write_vmd(tmp_path / "legs.vmd", bones=[("左足", 0, quaternion("x", 10), LINEAR)],
                       morphs=[("ぺろっ", 0, 1.0)])
    assert main(["motion", str(motion), "--poses-out", str(tmp_path / "p.jsonl")]) == 2
    assert "nothing in" in capsys.readouterr().err
    assert not (tmp_path / "p.jsonl").exists()


@pytest.mark.parametrize("lines, message", [
    (['{"time": 0, "mouth_aaa": 0.5}', "{oops"], "line 2 is not JSON"),
    (['{"mouth_aaa": 0.5}'], 'line 1 needs an object with a "time"'),
    (['{"time": 0, "mouth_aaa": 2}'], "line 1: pose parameter 'mouth_aaa' = 2 is outside its range"),
    (['{"time": 1, "mouth_aaa": 1}', '{"time": 0.5}'], "line 2: time 0.5 is not after"),
    (['{"time": 0, "mouth_a": 1}'], "Did you mean mouth_aaa"),
    ([], "holds no poses"),
], ids=["json", "time", "range", "order", "name", "empty"])
def test_render_track_points_at_the_bad_line(tmp_path, capsys, lines, message):
    track = tmp_path / "poses.jsonl"
    track.write_text("\n".join(lines), encoding="utf-8")
    assert main(["render-track", str(track), "-o", str(tmp_path / "out.mp4")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out.mp4").exists()


# --- real renders (THA3 weights from the cache) ---------------------------------------------------
def decode(path):
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        # MP4 keeps the stream's duration; WebM only the file's (in microseconds)
        duration = float(video.duration * video.time_base) if video.duration else container.duration / 1e6
        has_audio = bool(container.streams.audio)
        frames = [f.to_ndarray(format="rgb24").astype(int) for f in container.decode(video=0)]
    return frames, duration, has_audio


def test_motion_renders_ten_frames_at_30_fps_with_the_song(tmp_path, capsys):
    # The mouth opens over the first two frames, then the pose holds: only two frames run the network.
    motion = write_vmd(tmp_path / "open.vmd", morphs=[("あ", 0, 0.0), ("あ", 2, 1.0), ("まばたき", 9, 0.0)])
    out = tmp_path / "open.mp4"
    code = main(["motion", str(motion), "-o", str(out), "--audio", str(write_tone(tmp_path / "song.wav", 2.0)),
                 "--no-progress"])
    assert code == 0, capsys.readouterr().err

    frames, duration, has_audio = decode(out)
    assert len(frames) == 10 and duration == pytest.approx(10 / 30, abs=1e-3)
    assert has_audio
    mouth = (slice(160, 200), slice(230, 270))  # the mouth of the sample character at 512 px
    assert np.abs(frames[0][mouth] - frames[9][mouth]).mean() > 3  # it opened
    assert np.abs(frames[5][mouth] - frames[9][mouth]).mean() < 1  # and held
    assert "10 frames" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["open.mp4", "open.vmd", "song.wav"]


def test_render_track_renders_a_hand_written_track_as_keyframes(tmp_path, capsys):
    # Lines are keyframes: frames 0 and 1 hold the first pose, frame 2 winks.
    track = tmp_path / "wink.jsonl"
    track.write_text('{"time": 0}\n{"time": 0.05}\n{"time": 0.1, "eye_wink_left": 1}\n', encoding="utf-8")
    out = tmp_path / "wink.webm"
    assert main(["render-track", str(track), "-o", str(out), "--fps", "20", "--no-progress"]) == 0, \
        capsys.readouterr().err
    frames, duration, has_audio = decode(out)
    assert len(frames) == 3 and duration == pytest.approx(3 / 20, abs=1e-3)
    assert not has_audio
    assert np.abs(frames[0] - frames[1]).mean() < 0.5
    assert np.abs(frames[2] - frames[1]).max() > 100


def test_stopping_a_render_with_ctrl_c_leaves_no_video(tmp_path):
    # Ctrl-C cannot be pressed in a test: a renderer that raises it on the third frame stands in for the user.
    class InterruptedRenderer:
        size, frames = 64, 0

        def set_character(self, rgba):
            self.character = rgba

        def render(self, pose):
            self.frames += 1
            if self.frames == 3:
                raise KeyboardInterrupt
            return self.character

    from vtube_plugin.errors import UserError
    from vtube_plugin.motion.pose_track import PoseTrack
    from vtube_plugin.motion.render import render_video
    from vtube_plugin.sinks.video import VideoWriter

    track = PoseTrack(np.array([0.0, 1.0]), np.zeros((2, len(NAMES)), np.float32))
    character = np.full((64, 64, 4), 200, np.uint8)
    with pytest.raises(UserError, match="stopped") as stopped:
        render_video(track, InterruptedRenderer(), character, VideoWriter(tmp_path / "half.mp4", fps=30),
                     progress=False)
    assert stopped.value.exit_code == 130
    assert list(tmp_path.iterdir()) == []
