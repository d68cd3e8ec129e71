"""`pip install .` ships every subpackage, the bundled profiles and the static files, not just what a checkout sees."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_wheel_holds_every_package_and_the_profiles(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", str(ROOT),
                    "-w", str(tmp_path)], check=True, capture_output=True, cwd=tmp_path)
    wheel = next(tmp_path.glob("vtube_plugin-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())

    sources = [p.relative_to(ROOT).as_posix() for p in (ROOT / "vtube_plugin").rglob("*")
               if p.is_file() and "__pycache__" not in p.parts and not p.name.endswith(".pyc")]
    missing = [s for s in sources if s not in names]
    assert not missing, f"not in the wheel (add the package to pyproject's list): {missing}"

    profiles = [p.relative_to(ROOT / "profiles").as_posix() for p in (ROOT / "profiles").rglob("*.toml")]
    assert profiles, "profiles/ should hold the bundled profiles"
    assert all(f"vtube_plugin/profiles/{name}" in names for name in profiles)
