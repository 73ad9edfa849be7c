"""`verity verify` with a file whose pictures were replaced and whose sound was kept: the archived
original is named, found by its sound."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import VERITY
from tests.helpers.sound import make_sound_footage

pytestmark = pytest.mark.slow  # real `verity` processes


def verity(args: list[str], data_dir: Path) -> str:
    env = {**os.environ, "VERITY_DATA_DIR": str(data_dir), "COLUMNS": "200"}
    result = subprocess.run([VERITY, *args], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_verify_names_the_original_of_a_repost_with_other_pictures_found_by_its_sound(tmp_path: Path) -> None:
    (tmp_path / "footage").mkdir()
    footage = make_sound_footage(tmp_path / "footage")
    original = verity(["ingest", str(footage["original"])], tmp_path / "archive").split()[0]
    shown = verity(["verify", str(footage["resound"])], tmp_path / "archive")
    [row] = [line for line in shown.splitlines() if original in line]
    assert "audio" in row and "picture" not in row, shown
