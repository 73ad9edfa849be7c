"""What `pip install` builds from pyproject.toml: every package, the migrations included, and no
setuptools warning about files it would install by accident."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

SOURCES = ["pyproject.toml", "README.md", "verity", "api", "ingest", "storage", "migrations"]


def test_the_build_lists_every_package_and_ships_every_migration(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tree / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            tree.mkdir(exist_ok=True)
            shutil.copy2(source, tree / name)
    built = subprocess.run(
        [sys.executable, "-c", "from setuptools import setup; setup()", "build_py", "-d", str(tmp_path / "built")],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert built.returncode == 0, built.stderr
    assert "migrations.versions" not in built.stdout + built.stderr, built.stderr
    migrations = sorted(path.name for path in (ROOT / "migrations" / "versions").glob("*.py"))
    shipped = sorted(path.name for path in (tmp_path / "built" / "migrations" / "versions").glob("*.py"))
    assert shipped == migrations and len(migrations) >= 7
    assert (tmp_path / "built" / "migrations" / "script.py.mako").exists()
    # The workbench's templates and its vendored scripts are package data: without them every page
    # would fail in an installed copy.
    for shipped_file in ("templates/base.html", "templates/clip.html", "static/app.js", "static/vendor/htmx.min.js"):
        assert (tmp_path / "built" / "api" / shipped_file).exists(), shipped_file
    assert (tmp_path / "built" / "api" / "web" / "pages.py").exists()
