"""The CLI says what the media says: a recorded time with no zone is marked as such, and a clip
that decodes short of what it declares says so in `clip show`."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests import media
from tests.conftest import VERITY, RunningServer


@pytest.fixture(scope="module")
def footage(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("media-truth-cli")
    whole = media.make_in_container(folder / "whole.webm", "webm")
    cut = folder / "cut.webm"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    return {"zoneless": media.make_zoneless_clip(folder / "MVI_0001.AVI"), "cut": cut, "whole": whole}


def test_clip_list_and_show_say_what_the_media_says(server: RunningServer, footage: dict[str, Path]) -> None:
    env = {**server.env, "VERITY_SERVER": server.url, "VERITY_API_KEY": server.admin_key}

    def verity(*args: str) -> str:
        result = subprocess.run([VERITY, *args], capture_output=True, text=True, env=env, timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    ids = {
        name: verity("ingest", str(path), "--server", server.url, "--key", server.admin_key).split()[0]
        for name, path in footage.items()
    }
    for clip_id in ids.values():
        deadline = time.monotonic() + 120
        while ", ready," not in verity("clip", "show", clip_id):
            assert time.monotonic() < deadline, f"clip {clip_id} was not analysed in time"
            time.sleep(0.2)
    listed = verity("clip", "list", "--recorded-from", "2012-01-01T00:00:00Z", "--recorded-to", "2013-01-01T00:00:00Z")
    assert ids["zoneless"] in listed and "2012-09-10T20:52:00 (zone unknown)" in listed
    assert "probably truncated" in verity("clip", "show", ids["cut"])
    assert "integrity: decodes as far as it declares" in verity("clip", "show", ids["whole"])
