"""The slider poser: its page in a real headless Chromium over the real THA3 network, and its newest-wins queue.

Needs Debian's `chromium` (or $VTUBE_PLUGIN_CHROMIUM), the `playwright` Python package (no `playwright install`:
it drives the system Chromium) and the fetched weights and sample characters (`vtube-plugin models fetch`).
The screenshot docs/poser.md shows is made by docs/images/poser_screenshot.py (a user's folder in its header).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vtube_plugin.expressions.layer import load_presets
from vtube_plugin.models import store
from vtube_plugin.pose import GROUPS, PARAMETERS, Pose
from vtube_plugin.poser.characters import CharacterShelf
from vtube_plugin.poser.presets import with_expression
from vtube_plugin.poser.preview import Mailbox, PreviewWorker
from vtube_plugin.poser.server import PoserApp, PoserServer

REPO = Path(__file__).resolve().parents[1]
RENDER_WAIT_MS = 180_000  # a CPU frame takes about a second, far more on a busy 2-core runner
CHARACTER = "crypko_00.png"


# --- the newest-wins queue (no network: it tests the queueing) ------------------------------------
class GatedRenderer:
    """Stands in for the network: each render waits at a gate, so poses pile up while it 'works'."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.rendered: list[Pose] = []

    def set_character(self, rgba: np.ndarray) -> None:
        pass

    def render(self, pose: Pose) -> np.ndarray:
        self.gate.wait(timeout=60)
        self.rendered.append(pose)
        return np.zeros((4, 4, 4), np.uint8)


def test_mailbox_keeps_only_the_newest_item():
    box: Mailbox[int] = Mailbox()
    for i in range(5):
        box.put(i)
    assert box.take() == 4
    box.close()
    assert box.take() is None


def test_slow_renderer_renders_the_last_pose_and_skips_stale_ones():
    renderer = GatedRenderer()
    worker = PreviewWorker(renderer, characters=lambda name: np.zeros((4, 4, 4), np.uint8))
    try:
        poses = [Pose().replace(mouth_aaa=i / 10) for i in range(10)]
        tickets = [worker.submit(pose, CHARACTER) for pose in poses]
        renderer.gate.set()
        frame = worker.wait_newer(tickets[-2], timeout=60)
        assert frame is not None and frame.ticket == tickets[-1]
        assert frame.pose == poses[-1]
        assert len(renderer.rendered) < len(poses)
        assert renderer.rendered[-1] == poses[-1]
        assert worker.renders == len(renderer.rendered)
    finally:
        worker.close()


def test_a_busy_port_is_a_user_error_naming_the_port():
    import socket

    from vtube_plugin.errors import UserError

    worker = PreviewWorker(GatedRenderer(), characters=lambda name: np.zeros((4, 4, 4), np.uint8))
    app = PoserApp(worker, CharacterShelf(4), model="tha3", save_dir=Path("."), default_character=CHARACTER)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(UserError, match=f"127.0.0.1:{port}.*--port"):
            PoserServer(app, port=port)
    worker.close()


def test_a_save_folder_that_cannot_be_made_is_a_user_error_and_leaves_no_file(tmp_path):
    from vtube_plugin.errors import UserError

    renderer = GatedRenderer()
    renderer.gate.set()
    worker = PreviewWorker(renderer, characters=lambda name: np.zeros((4, 4, 4), np.uint8))
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    app = PoserApp(worker, CharacterShelf(4), model="tha3", save_dir=blocker / "poses", default_character=CHARACTER)
    try:
        ticket = worker.submit(Pose(), CHARACTER)
        assert worker.wait_newer(ticket - 1, timeout=60).png is not None
        with pytest.raises(UserError, match="cannot save to .*not-a-folder.*--save-dir"):
            app.save(ticket)
    finally:
        worker.close()
    assert list(tmp_path.iterdir()) == [blocker]


# --- the page over the real network ---------------------------------------------------------------
@pytest.fixture(scope="module")
def poser(tmp_path_factory, tha3_weights_dir):
    from vtube_plugin.render import Renderer

    renderer = Renderer.load(model="tha3", weights_dir=tha3_weights_dir, device="cpu", precision="fp32")
    shelf = CharacterShelf(renderer.size, store.sample_images_dir())
    save_dir = tmp_path_factory.mktemp("saved")
    app = PoserApp(PreviewWorker(renderer, shelf.image), shelf, model="tha3", save_dir=save_dir,
                   default_character=CHARACTER)
    with PoserServer(app) as server:
        yield server




@pytest.fixture()
def page(browser, poser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(RENDER_WAIT_MS)
    page = context.new_page()
    page.goto(poser.url)
    wait_until_rendered(page)
    yield page
    context.close()


def wait_until_rendered(page, newer_than: int = 0) -> int:
    """Wait until the preview shows the frame for the sliders' current values; returns its ticket."""
    page.wait_for_function(
        "n => document.getElementById('preview-box').dataset.state === 'ready'"
        " && Number(document.getElementById('preview').dataset.ticket || 0) > n",
        arg=newer_than, timeout=RENDER_WAIT_MS)
    return int(page.get_attribute("#preview", "data-ticket"))


def preview_pixels(page) -> np.ndarray:
    response = page.request.get(page.eval_on_selector("#preview", "img => img.src"))
    assert response.ok
    return np.asarray(Image.open(io.BytesIO(response.body())).convert("RGBA"))


def slider(page, name: str):
    return page.locator(f'input[type=range][data-param="{name}"]')


def test_page_has_a_slider_for_every_parameter_grouped_as_the_pose_table(page):
    assert page.locator("input[type=range][data-param]").count() == 45
    groups = page.locator("fieldset.group")
    assert [groups.nth(i).get_attribute("data-group") for i in range(groups.count())] == list(GROUPS)
    for group in GROUPS:
        names = page.locator(f'fieldset[data-group="{group}"] input[type=range]').evaluate_all(
            "inputs => inputs.map(i => i.dataset.param)")
        assert names == [p.name for p in PARAMETERS if p.group == group]
    # A left/right pair sits in one row.
    pair = page.locator(".param.pair", has=slider(page, "eye_wink_left"))
    assert pair.locator("input[type=range]").evaluate_all("inputs => inputs.map(i => i.dataset.param)") == [
        "eye_wink_left", "eye_wink_right"]
    assert page.locator("#character option").evaluate_all("options => options.map(o => o.value)") == sorted(
        p.name for p in store.sample_images_dir().glob("*.png"))
    assert page.input_value("#character") == CHARACTER


def test_slider_changes_the_preview_and_save_writes_the_png_and_its_pose(page, poser):
    before_ticket = int(page.get_attribute("#preview", "data-ticket"))
    before = preview_pixels(page)

    slider(page, "mouth_aaa").press("End")  # the keyboard way to drag a range input to its maximum
    assert slider(page, "mouth_aaa").input_value() == "1"
    after_ticket = wait_until_rendered(page, before_ticket)
    after = preview_pixels(page)
    assert after.shape == (512, 512, 4)
    changed = np.abs(after.astype(int) - before.astype(int)).max(axis=2) > 16
    assert changed.sum() > 200, "opening the mouth should change the face"
    rows, cols = np.nonzero(changed)
    assert 128 <= rows.mean() < 256 and 192 <= cols.mean() < 320, "the change should be in the face box"

    page.click("#save")
    page.wait_for_selector("#saved:not([hidden])")
    png = Path(page.get_attribute("#saved", "data-png"))
    meta = Path(page.get_attribute("#saved", "data-json"))
    assert png.parent == poser.app.save_dir and meta == png.with_suffix(".json")
    with Image.open(png) as image:
        assert image.size == (512, 512) and image.mode == "RGBA"
        assert np.array_equal(np.asarray(image), after), "save writes the frame the page shows"
    record = json.loads(meta.read_text())
    assert record["pose"]["mouth_aaa"] == 1.0 and record["pose"]["mouth_iii"] == 0.0
    assert len(record["pose"]) == 45
    assert record["character"] == CHARACTER and record["model"] == "tha3"
    assert str(png) in page.text_content("#saved")

    download = page.request.get(page.eval_on_selector("#saved a", "link => link.href"))
    assert download.headers["content-disposition"] == f'attachment; filename="{png.name}"'
    assert download.body() == png.read_bytes()

    # Load the saved pose back after a reset: the slider returns to 1 and the frame renders again.
    page.click("#reset")
    assert slider(page, "mouth_aaa").input_value() == "0"
    reset_ticket = wait_until_rendered(page, after_ticket)
    page.set_input_files("#load-pose", str(meta))
    page.wait_for_function("() => document.querySelector('input[data-param=mouth_aaa]').value === '1'")
    assert f"loaded the pose from {meta.name}" in page.text_content("#message")
    wait_until_rendered(page, reset_ticket)
    again = np.abs(preview_pixels(page).astype(int) - after.astype(int))
    assert np.mean(again.max(axis=2) > 2) < 0.001, "the loaded pose renders the saved frame again"


def test_after_a_quick_drag_the_preview_shows_the_final_slider_value(page, poser):
    shown = int(page.get_attribute("#preview", "data-ticket"))
    box = slider(page, "head_y").bounding_box()
    middle = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] / 2, middle)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.9, middle, steps=15)  # many input events, far faster than frames
    page.mouse.up()
    final = float(slider(page, "head_y").input_value())
    assert final > 0.5
    ticket = wait_until_rendered(page, shown)
    frame = poser.app.worker.frame(ticket)
    assert frame is not None and frame.pose["head_y"] == pytest.approx(final)


def test_a_slider_move_takes_the_preview_out_of_ready_until_its_pose_is_rendered(page, poser):
    # The race behind a flaky drag: a frame of an earlier pose arrived while the last move's post still
    # waited for its animation frame, and the page said "ready" with the old frame.
    shown = wait_until_rendered(page)
    state = page.evaluate("""() => {
        const input = document.querySelector('input[data-param=mouth_ooo]');
        input.value = 0.6;
        input.dispatchEvent(new Event('input'));
        return document.getElementById('preview-box').dataset.state;
    }""")
    assert state == "rendering"
    ticket = wait_until_rendered(page, shown)
    assert poser.app.worker.frame(ticket).pose["mouth_ooo"] == pytest.approx(0.6)


def test_upload_without_alpha_shows_the_reason_in_the_page(page, tmp_path):
    flat = tmp_path / "no_alpha.png"
    Image.new("RGB", (512, 512), (200, 180, 160)).save(flat)
    page.set_input_files("#upload", str(flat))
    message = page.locator("#message.error")
    message.wait_for()
    text = message.text_content()
    assert "no_alpha.png" in text and ("alpha" in text.lower() or "transparen" in text.lower())
    assert "Traceback" not in text and "vtube-poser-" not in text  # the user's file name, not our temporary one
    assert "no_alpha.png" not in page.locator("#character option").all_text_contents()


def test_upload_with_alpha_is_listed_selected_and_rendered(page, tmp_path):
    mine = tmp_path / "my_character.png"
    shutil.copy(store.sample_images_dir() / "crypko_01.png", mine)
    shown = int(page.get_attribute("#preview", "data-ticket"))
    page.set_input_files("#upload", str(mine))
    page.wait_for_function("() => document.getElementById('character').value === 'my_character.png'")
    wait_until_rendered(page, shown)
    with Image.open(mine) as image:
        expected_alpha = np.asarray(image.convert("RGBA"))[..., 3]
    # Same picture at rest: the rendered silhouette follows the uploaded image, not the previous character.
    alpha = preview_pixels(page)[..., 3]
    assert np.mean(np.abs(alpha.astype(int) - expected_alpha.astype(int)) > 64) < 0.01


def test_expression_buttons_set_the_sliders_as_the_expression_layer_would(page, poser):
    presets = load_presets()
    buttons = page.locator("#presets button")
    if not presets:
        # With no presets in the file the row stays empty.
        assert page.locator("#presets").text_content() == "" and buttons.count() == 0
        return
    buttons.first.wait_for()
    assert buttons.evaluate_all("bs => bs.map(b => b.dataset.preset)") == list(presets)
    # The first preset that changes the neutral face, applied over mouth_aaa = 1.
    start = Pose().replace(mouth_aaa=1.0)
    name, expected = next((n, with_expression(start, presets, n)) for n in presets
                          if with_expression(start, presets, n) != start)
    slider(page, "mouth_aaa").press("End")
    page.click(f'#presets button[data-preset="{name}"]')
    page.wait_for_function(
        "expected => Object.entries(expected).every(([n, v]) =>"
        " Math.abs(Number(document.querySelector(`input[data-param=${n}]`).value) - v) < 0.006)",
        arg=expected.to_dict())
    ticket = wait_until_rendered(page)
    rendered = poser.app.worker.frame(ticket).pose.as_array()
    assert np.allclose(rendered, expected.as_array(), atol=0.006)  # sliders step by 0.01


def _post(poser, path: str, value: dict) -> tuple[int, dict]:
    """A POST as the page sends it: JSON, with the page's token."""
    request = urllib.request.Request(poser.url + path, data=json.dumps(value).encode(), method="POST",
                                     headers={"Content-Type": "application/json", "X-Page-Token": poser.token})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_api_refuses_bad_poses_with_a_message(poser):
    status, answer = _post(poser, "api/pose", {"pose": {"mouth_aaa": 2}})
    assert status == 400 and "mouth_aaa" in answer["error"] and "0..1" in answer["error"]
    status, answer = _post(poser, "api/load-pose", {"text": '{"pose": {"mouth_aah": 1}}'})
    assert status == 400 and "mouth_aaa" in answer["error"]  # the did-you-mean hint
    status, answer = _post(poser, "api/load-pose", {"text": "not json"})
    assert status == 400 and "not valid JSON" in answer["error"]


# --- the command ----------------------------------------------------------------------------------
def _cli(*args: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "vtube_plugin", "poser", *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def test_command_prints_a_local_url_serves_the_page_and_stops_on_ctrl_c(tmp_path, tha3_weights_dir):
    process = _cli("--no-browser", "--save-dir", str(tmp_path))
    try:
        line = process.stdout.readline()
        while line and not line.startswith("poser: "):  # whatever the renderer prints while loading
            line = process.stdout.readline()
        assert line.startswith("poser: http://127.0.0.1:"), process.stderr.read()
        url = line.split()[1]
        with urllib.request.urlopen(url + "api/setup", timeout=30) as response:
            setup = json.loads(response.read())
        assert len(setup["parameters"]) == 45 and setup["save_dir"] == str(tmp_path.resolve())
        with urllib.request.urlopen(url, timeout=30) as response:
            assert b'<script src="/static/poser.js"' in response.read()
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    assert process.returncode == 130 and "Traceback" not in err


def test_command_refuses_a_character_without_alpha(tmp_path, tha3_weights_dir):
    flat = tmp_path / "flat.png"
    Image.new("RGB", (512, 512), (255, 255, 255)).save(flat)
    process = _cli("--no-browser", "--character", str(flat))
    out, err = process.communicate(timeout=120)
    assert process.returncode == 2
    assert err.startswith("error: ") and "flat.png" in err and "Traceback" not in err
    assert "http://" not in out
