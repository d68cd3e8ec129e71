"""The browser output (`--output browser`): its page in a real headless Chromium against a running `vtube-plugin run`
(a subprocess with the real THA3 weights), and its listener's rules (Host, token, bounds, newest frame wins).

Needs Debian's `chromium` and the `playwright` package, as tests/test_poser.py. Set $VTUBE_PLUGIN_SCREENSHOT_DIR to
also write the screenshot docs/obs.md shows.
"""

from __future__ import annotations

import base64
import io
import os
import signal
import socket
import time
import urllib.error
import urllib.request
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import pytest
from live_process import SAMPLE_FACE, LiveProcess
from PIL import Image

from vtube_plugin.errors import UserError
from vtube_plugin.sinks.browser import TOKEN_FILE, BrowserSink, lan_token
from vtube_plugin.sinks.browser_server import MAX_VIEWERS
from vtube_plugin.sinks.choose import parse_output

websockets_client = pytest.importorskip("websockets.sync.client")
from websockets.exceptions import InvalidStatus  # noqa: E402

WAIT_MS = 180_000  # a model load and a CPU frame on a busy 2-core runner
PRESETS = """
[happy]
fade_in = 0.2
fade_out = 0.2
pose = { eye_happy_wink = 1.0, mouth_aaa = 1.0 }
"""


def free_ports(count: int) -> list[int]:
    """Ports free now, all different (held together while the system picks them)."""
    with ExitStack() as held:
        sockets = [held.enter_context(socket.socket()) for _ in range(count)]
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]


def get(url: str, host: str | None = None) -> int:
    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


def ws_status(url: str) -> int:
    """101 when the WebSocket opened, else the HTTP status that refused it."""
    try:
        with websockets_client.connect(url, open_timeout=10):
            return 101
    except InvalidStatus as err:
        return err.response.status_code


def picture(seed: int, size: int = 64) -> np.ndarray:
    """A frame that tells itself apart: transparent but for a square whose colour encodes `seed`."""
    frame = np.zeros((size, size, 4), np.uint8)
    frame[8:56, 8:56] = (seed % 256, 255 - seed % 256, 77, 255)
    return frame


# --- the options --------------------------------------------------------------------------------------
@pytest.mark.parametrize("spec, message", [
    ("browser:port=0", "--output browser:port=0: the port must be between 1 and 65535"),
    ("browser:port=65536", "--output browser:port=65536: the port must be between 1 and 65535"),
    ("browser:port=http", "--output browser:port=http: port must be a whole number"),
    ("browser:host=my-pc", "--output browser:host=my-pc: host must be an address of this PC"),
    ("browser:colour=red", "'colour=red' is not an option of this output. Options: port=, host="),
])
def test_browser_options_are_checked_with_a_message_naming_the_option(spec, message):
    with pytest.raises(UserError) as err:
        parse_output(spec)
    assert message in str(err.value)


def test_several_outputs_parse_and_the_help_lists_browser():
    from vtube_plugin.sinks.choose import OUTPUT_HELP

    assert parse_output("browser") == ("browser", "")
    assert parse_output("browser:port=8080,host=0.0.0.0") == ("browser", "port=8080,host=0.0.0.0")
    assert parse_output("spout:name=me") == ("spout", "name=me")
    assert OUTPUT_HELP.startswith("browser")


# --- the listener, driven directly --------------------------------------------------------------------
def test_only_loopback_host_names_with_our_port_are_answered():
    with BrowserSink((64, 64), port=0) as sink:
        port = sink.port
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"):
            assert get(sink.url, host) == 200, host
        # A page of some web site whose name now points at 127.0.0.1 (DNS rebinding), or our port misnamed.
        for host in (f"evil.example:{port}", "localhost", f"127.0.0.1:{port + 1}"):
            assert get(sink.url, host) == 403, host
        assert get(f"http://127.0.0.1:{port}/secret") == 404
        # Another site's script may not watch the stream; our own page (same origin) and non-browsers may.
        assert ws_status(f"ws://127.0.0.1:{port}/stream") == 101
        with pytest.raises(InvalidStatus) as refused, \
                websockets_client.connect(f"ws://127.0.0.1:{port}/stream", origin="http://evil.example",
                                          open_timeout=10):
            pass
        assert refused.value.response.status_code == 403


def test_viewers_are_bounded_and_a_freed_place_can_be_taken_again():
    with BrowserSink((64, 64), port=0) as sink:
        url = f"ws://127.0.0.1:{sink.port}/stream"
        with ExitStack() as viewers:
            for _ in range(MAX_VIEWERS):
                viewers.enter_context(websockets_client.connect(url, open_timeout=10))
            deadline = time.monotonic() + 10
            while sink._viewers < MAX_VIEWERS and time.monotonic() < deadline:
                time.sleep(0.02)
            assert ws_status(url) == 503
        deadline = time.monotonic() + 10
        while ws_status(url) != 101:
            assert time.monotonic() < deadline, "a place freed by a closed viewer was never given back"
            time.sleep(0.05)


def noisy_picture(seed: int, size: int = 384) -> np.ndarray:
    """picture(seed) in a field of noise: about half a megabyte of PNG, so a viewer that does not read fills the
    socket's buffers after a few frames (tiny frames would all fit in them and prove nothing)."""
    frame = np.random.default_rng(seed).integers(0, 256, (size, size, 4), dtype=np.uint8)
    frame[:64, :64] = picture(seed)
    return frame


def test_a_slow_viewer_gets_the_newest_frame_not_a_queue():
    # max_queue=1: the client library stops reading the socket while one message waits, as a stalled page does
    with BrowserSink((384, 384), port=0) as sink, \
            websockets_client.connect(f"ws://127.0.0.1:{sink.port}/stream", open_timeout=10, max_queue=1,
                                      max_size=None) as viewer:
        deadline = time.monotonic() + 10
        while sink._viewers < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        sink.send(noisy_picture(0))
        first = viewer.recv(timeout=10)  # the viewer now sits still while 200 frames are rendered
        for seed in range(1, 201):
            sink.send(noisy_picture(seed))
            time.sleep(0.002)  # a renderer far faster than any real one, still slower than a bare loop
        time.sleep(0.5)
        received = [first]
        while True:
            try:
                received.append(viewer.recv(timeout=1))
            except TimeoutError:
                break
        seeds = [int(np.asarray(Image.open(io.BytesIO(png)))[30, 30, 0]) for png in received]
        assert seeds[-1] == 200, "the last frame sent must arrive"
        assert len(received) < 20, f"{len(received)} frames queued up for a viewer that did not read"
        assert sink.frames_encoded < 100, "frames nobody could see were encoded"
        assert seeds == sorted(seeds)


def test_nothing_is_encoded_while_no_page_watches():
    with BrowserSink((64, 64), port=0) as sink:
        for seed in range(20):
            sink.send(picture(seed))
        time.sleep(0.2)
        assert sink.frames_encoded == 0
        with websockets_client.connect(f"ws://127.0.0.1:{sink.port}/stream", open_timeout=10) as viewer:
            frame = np.asarray(Image.open(io.BytesIO(viewer.recv(timeout=10))))
        assert np.array_equal(frame, picture(19)), "a page that connects gets the current frame at once"
        assert sink.frames_encoded == 1


def test_the_lan_token_is_kept_private_and_reused(tmp_path):
    token = lan_token(tmp_path)
    assert len(token) >= 16 and lan_token(tmp_path) == token
    assert (tmp_path / TOKEN_FILE).stat().st_mode & 0o077 == 0, "other users must not read the token"


# --- a real `vtube-plugin run` and a real Chromium ----------------------------------------------------


def open_page(browser, url: str):
    # The size OBS's Browser Source would have; a transparent page background, as OBS gives it.
    context = browser.new_context(viewport={"width": 512, "height": 512})
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    page.goto(url)
    return page


def frames_drawn(page) -> int:
    return int(page.eval_on_selector("#character", "c => Number(c.dataset.frames || 0)"))


def wait_for_frames(page, more_than: int) -> int:
    page.wait_for_function("n => Number(document.getElementById('character').dataset.frames || 0) > n",
                           arg=more_than, timeout=WAIT_MS)
    return frames_drawn(page)


def canvas_pixels(page) -> np.ndarray:
    """What the canvas holds, read back with getImageData: uint8 (H, W, 4), straight alpha."""
    encoded = page.evaluate("""() => {
        const c = document.getElementById('character');
        const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let text = '';
        for (let i = 0; i < data.length; i += 32768) text += String.fromCharCode(...data.subarray(i, i + 32768));
        return [c.width, c.height, btoa(text)];
    }""")
    width, height, text = encoded
    return np.frombuffer(base64.b64decode(text), np.uint8).reshape(height, width, 4)


def run_argv(port: int, control: int, presets: Path, host: str | None = None) -> list[str]:
    output = f"browser:port={port}" + (f",host={host}" if host else "")
    # The plan is named: the page is compared with a renderer's own frame, pixel for pixel (auto's plan is
    # measured per machine; render/tuning.py).
    return ["run", "--source", "none", "--output", output, "--fps", "2", "--control-port", str(control),
            "--keys", "off", "--expressions", str(presets), "--engine", "openvino", "--precision", "fp32",
            "--smooth", "off", "--idle", "off"]


def stop(run: LiveProcess) -> tuple[int, str]:
    run.process.send_signal(signal.SIGINT)  # Ctrl+C, as a user stops it
    return run.finish(timeout=60)


def test_obs_page_shows_the_character_with_alpha_follows_the_pose_and_survives_a_restart(
        browser, tmp_path, tha3_weights_dir):
    from vtube_plugin.character import load_character_or_sample
    from vtube_plugin.pose import Pose
    from vtube_plugin.render import Renderer

    config = tmp_path / "config"
    config.mkdir()
    presets = tmp_path / "expressions.toml"
    presets.write_text(PRESETS)
    token = lan_token(config)  # the second run, opened to the LAN, reads the same file
    port, control = free_ports(2)
    url = f"http://127.0.0.1:{port}/"
    # The renderer's own frame for the neutral pose (what `--source none` shows), rendered before the run starts
    # so the two do not fight over the CPU.
    renderer = Renderer.load(model="tha3", weights_dir=tha3_weights_dir, device="cpu", precision="fp32",
                             engine="openvino")
    renderer.set_character(load_character_or_sample(None, renderer.size))
    expected = renderer.render(Pose())
    del renderer

    with LiveProcess(run_argv(port, control, presets), config) as run:
        assert run.wait_for_line(f"browser output: {url}", timeout=WAIT_MS / 1000), run.output
        assert "Width: 512   Height: 512" in run.output and "Refresh browser when scene becomes active" in run.output
        # The page OBS opens (with the token in its URL, as it will be saved in OBS; this PC-only run ignores it).
        page = open_page(browser, f"{url}?token={token}")
        seen = wait_for_frames(page, 0)
        shown = canvas_pixels(page)
        assert shown.shape == expected.shape == (512, 512, 4)
        alpha, want = shown[..., 3].astype(int), expected[..., 3].astype(int)
        assert (alpha[want == 0] == 0).all(), "outside the character the page must be fully transparent"
        assert np.abs(alpha - want).max() <= 2
        opaque = want == 255
        assert opaque.sum() > 20_000, "the character's body should be opaque"
        assert np.abs(shown[opaque][:, :3].astype(int) - expected[opaque][:, :3].astype(int)).max() <= 2
        assert (alpha == 0).mean() > 0.5 and (alpha == 255).sum() > 20_000

        if shot_dir := os.environ.get("VTUBE_PLUGIN_SCREENSHOT_DIR"):
            Path(shot_dir).mkdir(parents=True, exist_ok=True)
            # For docs/obs.md: the page over a checkerboard, the way image editors show transparency.
            page.add_style_tag(content="html { background: repeating-conic-gradient(#ccc 0 25%, #fff 0 50%) "
                                       "0 0 / 32px 32px; }")
            page.screenshot(path=str(Path(shot_dir) / "browser-source.png"))
            page.add_style_tag(content="html { background: transparent; }")

        # A second page (a preview) watches the same stream.
        preview = open_page(browser, url)
        wait_for_frames(preview, 0)
        assert np.array_equal(canvas_pixels(preview)[..., 3] > 0, shown[..., 3] > 0)

        # `vtube-plugin expression happy` through the control channel: new frames with the new face arrive.
        with LiveProcess(["expression", "happy", "--control-port", str(control)], config) as command:
            code, said = command.finish(timeout=60)
        assert code == 0 and "happy on" in said, said
        deadline = time.monotonic() + WAIT_MS / 1000
        while True:
            seen = wait_for_frames(page, seen)
            happy = canvas_pixels(page)
            change = np.abs(happy[SAMPLE_FACE].astype(int) - shown[SAMPLE_FACE].astype(int)).mean()
            if change > 4.0:
                break
            assert time.monotonic() < deadline, f"the face never changed on the page (mean change {change:.2f})"
        code, output = stop(run)
        assert code == 0, output
    page.wait_for_function("() => document.body.dataset.state === 'waiting'", timeout=30_000)

    # Restarted, now opened to the LAN: the page OBS keeps open reconnects by itself and shows frames again.
    with LiveProcess(run_argv(port, control, presets, host="0.0.0.0"), config) as run:
        assert run.wait_for_line("browser output open to the LAN", timeout=WAIT_MS / 1000), run.output
        assert f"?token={token}" in run.output
        wait_for_frames(page, seen)
        assert page.evaluate("() => document.body.dataset.state") == "streaming"
        assert (canvas_pixels(page)[..., 3] == 255).sum() > 20_000
        # Without the token nothing is served, page or stream; with it, both are.
        assert get(url) == 403
        assert ws_status(f"ws://127.0.0.1:{port}/stream") == 403
        assert get(f"{url}?token=wrong{token}") == 403
        assert get(f"{url}?token={token}") == 200
        assert ws_status(f"ws://127.0.0.1:{port}/stream?token={token}") == 101
        code, output = stop(run)
        assert code == 0, output
    assert "Traceback" not in output


def test_browser_file_and_virtual_camera_outputs_take_the_same_frames_together(tmp_path):
    import pyvirtualcam
    from live_process import read_video

    from vtube_plugin.sinks.choose import make_sink
    from vtube_plugin.sinks.compose import Background
    from vtube_plugin.sinks.virtualcam import VirtualCameraSink

    class KeepingBackend:  # no v4l2loopback device on test machines: pyvirtualcam's backend registry stands in
        frames: list[np.ndarray] = []

        def __init__(self, *, width, height, **kw):
            self.width, self.height = width, height

        def send(self, frame):
            KeepingBackend.frames.append(frame.reshape(self.height, self.width, 3).copy())

        def close(self):
            pass

        def device(self):
            return "test camera"

        def native_fmt(self):
            return None

    pyvirtualcam.register_backend("browser-test", KeepingBackend)
    (port,) = free_ports(1)
    video = tmp_path / "take.mp4"
    sinks = [make_sink(f"browser:port={port}", size=(64, 64), fps=10, background=Background()),
             make_sink(f"file:{video}", size=(64, 64), fps=10, background=Background()),
             VirtualCameraSink(64, 64, 10, backend="browser-test")]
    try:
        with ExitStack() as stack:
            for sink in sinks:
                stack.enter_context(sink)
            viewer = stack.enter_context(websockets_client.connect(f"ws://127.0.0.1:{port}/stream", open_timeout=10))
            deadline = time.monotonic() + 10
            while sinks[0]._viewers < 1 and time.monotonic() < deadline:
                time.sleep(0.02)
            for seed in range(5):
                for sink in sinks:
                    sink.send(picture(seed * 40))
            time.sleep(0.3)
            newest = None
            while True:
                try:
                    newest = viewer.recv(timeout=1)
                except TimeoutError:
                    break
    finally:
        pyvirtualcam.camera.BACKENDS.pop("browser-test", None)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(newest))), picture(160)), "the page ends on the last frame"
    assert len(read_video(video)) == 5
    assert len(KeepingBackend.frames) == 5
    assert tuple(KeepingBackend.frames[-1][30, 30]) == (160, 95, 77), "the camera got the same frame, composited"


def test_a_busy_port_is_a_user_error_naming_the_option():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(UserError, match=f"cannot listen on 127.0.0.1:{port}.*--output browser:port=N"):
            BrowserSink((64, 64), port=port).__enter__()


def test_oversized_requests_are_refused_and_the_page_is_still_served():
    with BrowserSink((64, 64), port=0) as sink:
        host = f"Host: 127.0.0.1:{sink.port}\r\n".encode()
        long_line = b"GET / HTTP/1.1\r\n" + host + b"X-Big: " + b"a" * 10_000 + b"\r\n\r\n"
        many_headers = b"GET / HTTP/1.1\r\n" + host + b"".join(b"X-%d: 1\r\n" % i for i in range(200)) + b"\r\n"
        for request in (long_line, many_headers):
            with socket.create_connection(("127.0.0.1", sink.port), timeout=10) as client:
                client.sendall(request)
                assert client.recv(64).split(b" ")[1] == b"400"  # aiohttp's parser: 8 KiB a line, 128 headers
        assert get(sink.url) == 200


def test_run_says_a_busy_browser_port_before_loading_the_model(tmp_path, monkeypatch, capsys):
    import vtube_plugin.cli as cli

    monkeypatch.setenv("VTUBE_PLUGIN_CONFIG", str(tmp_path / "config"))
    monkeypatch.setattr(cli, "COMMANDS", ["run"])
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = cli.main(["run", "--source", "none", "--output", f"browser:port={port}", "--weights",
                         str(tmp_path / "no-weights-here")])
    said = capsys.readouterr().err
    assert code == 2
    assert f"--output browser cannot listen on 127.0.0.1:{port}" in said, said
