"""`vtube-plugin studio`: a real studio process (OpenVINO fp32 on the CPU, the real weights, its settings in a
config folder of the test's) and its page in a real headless Chromium, driven by role and name as a person would:
the source switched to VMC while a python-osc client sends an open mouth, a preset and neutral, Record and Stop,
refused uploads, the settings kept across a restart, the dock width, and requests from elsewhere changing nothing.

Set $VTUBE_PLUGIN_SCREENSHOT_DIR to also write the screenshots docs/obs.md shows.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from live_process import SAMPLE_FACE, LiveProcess
from udp_sender import free_udp_port, vmc_open_mouth

WAIT_MS = 240_000  # a model load and CPU frames on a busy 2-core runner
MOUTH = (slice(165, 200), slice(230, 285))  # the sample character's mouth in the 512x512 frame (opened: ~9)
FPS = 10


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_studio(port: int, config: Path) -> LiveProcess:
    process = LiveProcess(["studio", "--no-browser", "--port", str(port), "--fps", str(FPS),
                           "--engine", "openvino", "--precision", "fp32"], config)
    process.__enter__()
    if not process.wait_for_line("studio: live", timeout=WAIT_MS / 1000):
        process.__exit__(None, None, None)
        pytest.fail(f"the studio never went live:\n{process.output}")
    return process


def stop_studio(process: LiveProcess) -> str:
    process.process.send_signal(signal.SIGINT)  # Ctrl+C, as a user stops it
    code, output = process.finish(timeout=120)
    assert code in (0, 130), output
    assert "Traceback" not in output, output
    return output


@pytest.fixture(scope="module")
def studio(tmp_path_factory, tha3_weights_dir):
    root = tmp_path_factory.mktemp("studio")
    config, videos = root / "config", root / "videos"
    config.mkdir()
    videos.mkdir()
    # Where Record writes, as a user's earlier studio left it in the saved settings (else: their Videos folder).
    (config / "studio-settings.json").write_text(json.dumps({"version": 1, "recording_folder": str(videos)}))
    port = free_tcp_port()
    process = start_studio(port, config)
    info = {"process": process, "port": port, "url": f"http://127.0.0.1:{port}/studio", "config": config,
            "videos": videos}
    try:
        yield info
    finally:
        if info["process"].running:
            stop_studio(info["process"])
        info["process"].__exit__(None, None, None)


def open_page(browser, url: str, width: int = 1280, height: int = 1000):
    context = browser.new_context(viewport={"width": width, "height": height})
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    page.goto(url)
    page.wait_for_function("() => document.body.dataset.state === 'live'")
    wait_for_frames(page, 0)
    return page


@pytest.fixture(scope="module")
def page(browser, studio):
    page = open_page(browser, studio["url"])
    yield page
    page.context.close()


def frames(page) -> int:
    return int(page.eval_on_selector("#preview", "c => Number(c.dataset.frames || 0)"))


def wait_for_frames(page, more_than: int) -> int:
    page.wait_for_function("n => Number(document.getElementById('preview').dataset.frames || 0) > n",
                           arg=more_than, timeout=WAIT_MS)
    return frames(page)


def preview(page) -> np.ndarray:
    """What the preview canvas shows: uint8 (H, W, 4)."""
    width, height, text = page.evaluate("""() => {
        const c = document.getElementById('preview');
        const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let text = '';
        for (let i = 0; i < data.length; i += 32768) text += String.fromCharCode(...data.subarray(i, i + 32768));
        return [c.width, c.height, btoa(text)];
    }""")
    return np.frombuffer(base64.b64decode(text), np.uint8).reshape(height, width, 4).astype(int)


def change(a: np.ndarray, b: np.ndarray, box=SAMPLE_FACE) -> float:
    return float(np.abs(a[box] - b[box]).mean())


def wait_for_preview(page, condition, what: str) -> np.ndarray:
    """The preview once `condition(pixels)` holds: now, or in one of the frames still to come (the feed sends a
    frame only when the picture changes)."""
    deadline = time.monotonic() + WAIT_MS / 1000
    while True:
        seen = frames(page)
        shown = preview(page)
        if condition(shown):
            return shown
        assert time.monotonic() < deadline, f"the preview never showed {what}"
        wait_for_frames(page, seen)


def state(studio) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{studio['port']}/studio/api/state", timeout=30) as response:
        return json.loads(response.read())


def wait_for_state(studio, condition, what: str) -> dict:
    deadline = time.monotonic() + 60
    while not condition(now := state(studio)):
        assert time.monotonic() < deadline, f"the session never had {what}"
        time.sleep(0.1)
    return now


def settle(page) -> np.ndarray:
    """The preview once no new frame has come for a few seconds (a still character sends none: nothing is
    fading in or out any more)."""
    while True:
        seen, shown = frames(page), preview(page)
        time.sleep(3)
        if frames(page) == seen:
            return shown


# --- the page ------------------------------------------------------------------------------------
def test_as_an_obs_dock_300_px_wide_nothing_scrolls_sideways_and_every_control_has_a_name(browser, studio):
    dock = open_page(browser, studio["url"], width=300, height=900)
    try:
        assert dock.evaluate("() => document.documentElement.scrollWidth <= document.documentElement.clientWidth")
        assert dock.evaluate("() => document.body.scrollWidth <= 300")
        for role, name in [("combobox", "Source"), ("combobox", "Profile"), ("button", "Calibrate"),
                           ("button", "Neutral"), ("checkbox", "Idle life"), ("checkbox", "Lip sync"),
                           ("combobox", "Microphone"), ("combobox", "Character"), ("button", "Record"),
                           ("button", "Stop"), ("checkbox", "Virtual camera"), ("checkbox", "VMC out"),
                           ("button", "Copy"), ("button", "Add to OBS"), ("textbox", "OBS Browser Source URL")]:
            assert dock.get_by_role(role, name=name, exact=True).count() == 1, (role, name)
        presets = state(studio)["expressions"]["presets"]
        assert presets, "the shipped presets should be listed"
        for preset in presets:
            label = f"{preset['name']} ({preset['hotkey']})" if preset["hotkey"] else preset["name"]
            assert dock.get_by_role("button", name=label, exact=True).count() == 1, label
        url = dock.get_by_role("textbox", name="OBS Browser Source URL").input_value()
        assert url == f"http://127.0.0.1:{studio['port']}/", "the Browser Source URL OBS already knows"
        if shot_dir := os.environ.get("VTUBE_PLUGIN_SCREENSHOT_DIR"):
            Path(shot_dir).mkdir(parents=True, exist_ok=True)
            dock.wait_for_function("() => Number(document.getElementById('render-fps').textContent) > 0")
            dock.screenshot(path=str(Path(shot_dir) / "studio-dock.png"), full_page=True)
    finally:
        dock.context.close()


def test_switching_the_source_to_vmc_while_a_phone_sends_an_open_mouth_opens_the_previews_mouth(page, studio):
    idle = page.get_by_role("checkbox", name="Idle life")
    if idle.is_checked():
        idle.uncheck()  # a still character: what changes on the preview is what the test did
    wait_for_state(studio, lambda now: now["idle"] is False, "idle life off")
    closed = settle(page)
    port = free_udp_port()
    with vmc_open_mouth(port):
        page.get_by_role("combobox", name="Source").select_option("vmc")
        port_field = page.get_by_role("spinbutton", name="port", exact=True)
        port_field.fill(str(port))
        port_field.press("Tab")  # the field's change applies it
        page.wait_for_function("() => document.getElementById('tracker').dataset.state === 'tracking'")
        assert "tracking from 127.0.0.1:" in page.text_content("#tracker")
        opened = wait_for_preview(page, lambda shown: change(shown, closed, MOUTH) > 4, "an open mouth")
        assert change(opened, closed, MOUTH) > 4
        assert int(page.text_content("#datagrams").split("/")[0]) > 0
        if shot_dir := os.environ.get("VTUBE_PLUGIN_SCREENSHOT_DIR"):
            page.screenshot(path=str(Path(shot_dir) / "studio.png"), full_page=True)
    page.get_by_role("combobox", name="Source").select_option("none")
    page.wait_for_function("() => document.getElementById('tracker').textContent.startsWith('none')")


def test_a_preset_changes_the_preview_and_neutral_brings_it_back(page, studio):
    before = settle(page)
    happy = next(p for p in state(studio)["expressions"]["presets"] if p["name"] == "happy")
    button = page.get_by_role("button", name=f"happy ({happy['hotkey']})", exact=True)
    button.click()
    page.wait_for_function("() => document.querySelector('[data-preset=happy]').ariaPressed === 'true'")
    wait_for_preview(page, lambda shown: change(shown, before) > 2, "the happy face")
    assert state(studio)["expressions"]["active"] == ["happy"]
    page.get_by_role("button", name="Neutral", exact=True).click()
    page.wait_for_function("() => document.getElementById('neutral').getAttribute('aria-pressed') === 'true'")
    wait_for_preview(page, lambda shown: change(shown, before) < 1, "the neutral face again")
    assert state(studio)["expressions"]["active"] == []


def test_a_new_preset_from_the_sliders_shows_on_the_preview_and_is_saved_as_a_button(page, studio):
    before = settle(page)
    page.get_by_text("New preset", exact=True).click()  # the panel opens
    # A vowel: the shipped presets' [defaults] keep = ["blink", "lip_sync"] would leave it to tracking, but a
    # slider the user moved is what the new preset sets.
    page.get_by_role("slider", name="mouth_ooo", exact=True).fill("1")
    wait_for_state(studio, lambda now: now["draft"]["pose"] == {"mouth_ooo": 1.0}, "the slider's value")
    wait_for_preview(page, lambda shown: change(shown, before, MOUTH) > 4, "the slider's round mouth")
    page.get_by_role("textbox", name="Preset name", exact=True).fill("pout")
    page.get_by_role("button", name="Save preset", exact=True).click()
    page.get_by_role("button", name="pout", exact=True).wait_for()
    assert "[pout]" in (studio["config"] / "expressions.toml").read_text(encoding="utf-8")
    assert state(studio)["draft"]["pose"] == {}
    wait_for_preview(page, lambda shown: change(shown, before) < 1, "the face without the draft")


def test_the_status_shows_the_distinct_frames_and_the_smooth_mode(page, studio):
    assert page.text_content("#smooth") == "extrapolate"  # the studio's default, as `run`'s
    float(page.text_content("#distinct-fps"))  # a number once frames go out
    assert page.text_content("#faults") == "none"


def test_record_then_stop_gives_a_playable_file_as_long_as_the_wall_clock(page, studio):
    import av

    page.get_by_role("button", name="Record", exact=True).click()
    page.wait_for_function("() => document.getElementById('recording').textContent.startsWith('recording')")
    started = time.monotonic()
    time.sleep(3)
    page.get_by_role("button", name="Stop", exact=True).click()
    page.wait_for_function("() => document.getElementById('recording').textContent.startsWith('not recording')")
    wall = time.monotonic() - started
    files = list(studio["videos"].glob("vtube-plugin *.mp4"))
    assert len(files) == 1, files
    with av.open(str(files[0])) as container:
        stream = container.streams.video[0]
        decoded = sum(1 for _ in container.decode(video=0))
        duration = decoded / float(stream.average_rate or FPS)
    assert decoded > 0
    assert abs(duration - wall) <= 0.2, f"the file holds {duration:.2f} s of a {wall:.2f} s recording"


def test_a_refused_upload_says_why_and_the_character_stays(page, studio, tmp_path):
    from PIL import Image

    before = state(studio)["character"]
    upload = page.get_by_label("Upload a character", exact=False)
    message = page.locator("#character-message")
    flat = tmp_path / "flat.png"
    Image.new("RGB", (512, 512), (200, 180, 160)).save(flat)  # no transparency
    notes = tmp_path / "notes.txt"
    notes.write_text("not a picture")
    huge = tmp_path / "huge.png"
    huge.write_bytes(os.urandom(17 * 2**20))
    for path, reason in [(flat, "alpha"), (notes, "png"), (huge, "MB")]:
        upload.set_input_files(str(path))
        page.wait_for_function("() => document.getElementById('character-message').textContent !== ''")
        text = message.text_content()
        assert path.name in text and reason.lower() in text.lower() and "Traceback" not in text, text
        assert state(studio)["character"] == before
        page.evaluate("() => { document.getElementById('character-message').textContent = ''; }")
    kept = studio["config"] / "characters"
    assert not kept.exists() or not any(kept.iterdir()), "a refused picture must not be kept"


def test_any_picture_of_a_character_is_fitted_on_upload_and_streams(page, studio, tmp_path):
    """A user's own picture as it comes (the sample scaled 1.3x on a 900x700 JPEG with a white background): the
    page fits it as `character fit` does, says what it did, and streams it; unticked, the same JPEG is refused."""
    from character_pictures import moved, sample, silhouette_iou
    from PIL import Image

    original = sample("lambda_00.png")
    picture, _ = moved(original, 1.3, (900, 700), (150, 10), (255, 255, 255), jpeg=True)
    mine = tmp_path / "my character.jpg"
    Image.fromarray(picture).save(mine, quality=92)
    before, was = settle(page), state(studio)["character"]
    upload = page.get_by_label("Upload a character", exact=False)
    fit = page.get_by_role("checkbox", name="Fit it to the network's frame", exact=False)

    fit.uncheck()
    upload.set_input_files(str(mine))
    page.wait_for_function("() => document.getElementById('character-message').textContent !== ''")
    assert "my character.jpg" in page.text_content("#character-message")
    assert state(studio)["character"] == was
    page.evaluate("() => { document.getElementById('character-message').textContent = ''; }")

    fit.check()
    upload.set_input_files(str(mine))
    page.wait_for_function("() => document.getElementById('character-fitted').textContent !== ''")
    said = page.text_content("#character-fitted")
    assert "my character.jpg was fitted" in said and "background: removed" in said and "scale " in said, said
    assert page.text_content("#character-message") == ""
    assert page.text_content("#message") == "now streaming my character.jpg (fitted)"
    kept = studio["config"] / "characters" / "my character.png"
    assert state(studio)["character"] == str(kept)
    fitted = np.array(Image.open(kept))
    assert fitted.shape == (512, 512, 4)
    assert silhouette_iou(fitted[..., 3], original[..., 3]) >= 0.9  # back where the sample's own frame has it
    shown = wait_for_preview(page, lambda now: change(now, before, (slice(0, 512), slice(0, 512))) > 0.5,
                             "the fitted character")
    assert shown[..., 3].max() == 255 and (shown[:8, :8, 3] == 0).all()  # streamed, the white gone
    # What the picker offers now: the fitted picture, as a PNG (a JPEG has no transparency).
    assert "my character.png" in [o.text_content() for o in page.locator("#character option").all()]


def test_a_foreign_origin_or_a_missing_token_changes_nothing(page, studio):
    token = page.get_attribute('meta[name="page-token"]', "content")
    was = state(studio)["idle"]
    asked = {"type": "set_idle", "data": {"on": not was}}
    for headers in ({"Origin": "http://evil.example", "X-Page-Token": token}, {},
                    {"X-Page-Token": "guessed"}):
        request = urllib.request.Request(f"http://127.0.0.1:{studio['port']}/studio/api/command", method="POST",
                                         data=json.dumps(asked).encode(),
                                         headers={"Content-Type": "application/json", **headers})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)
        assert refused.value.code == 403
    assert state(studio)["idle"] == was


def test_the_settings_survive_a_restart(browser, page, studio):
    second = next(o for o in page.locator("#character option").all() if o.text_content() == "crypko_01.png")
    path = second.get_attribute("value")
    page.get_by_role("combobox", name="Character").select_option(path)
    wait_for_state(studio, lambda now: now["character"] == path, "the second character")
    idle = page.get_by_role("checkbox", name="Idle life")
    if idle.is_checked():
        idle.uncheck()
    wait_for_state(studio, lambda now: now["idle"] is False, "idle life off")
    stop_studio(studio["process"])
    studio["process"] = start_studio(studio["port"], studio["config"])
    again = open_page(browser, studio["url"])
    try:
        assert again.get_by_role("combobox", name="Character").input_value() == path
        assert not again.get_by_role("checkbox", name="Idle life").is_checked()
        assert state(studio)["character"] == path
    finally:
        again.context.close()
