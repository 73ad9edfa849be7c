"""An investigation from start to finish with nothing but the `verity` command and a real server:
open a case with incidents, upload clips, link segments, move a clip through review, find clips by
place and time, and read every change back from the clip's custody log. Runs on the embedded
archive and on the scaled one (PostgreSQL + S3)."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import httpx
import pytest

from tests import media
from tests.conftest import RunningServer
from tests.helpers.investigator import Investigator

pytestmark = pytest.mark.slow  # a real server and CLI

TEHRAN = "35.6,51.2,35.8,51.5"  # the tagged clip was recorded at +35.7006+051.3347
ISFAHAN = "32.5,51.5,32.8,51.8"


@pytest.fixture(scope="module")
def footage(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("investigation")
    return media.make_tagged_clip(folder / "IMG_0412.MOV"), media.make_h264_aac(folder / "street.mp4", seconds=4)


def wait_until_analysed(verity: Investigator, clip_id: str) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        shown = verity("clip", "show", clip_id).stdout
        if ", ready," in shown:
            return
        assert "failed" not in shown and "unsupported" not in shown, shown
        time.sleep(0.3)
    raise AssertionError(f"clip {clip_id} was not analysed in time")


def test_a_case_from_first_upload_to_verified_clip(any_server: RunningServer, footage: tuple[Path, Path]) -> None:
    tagged, street = footage
    admin = Investigator(any_server, any_server.admin_key)
    # Keys for the people involved, made with the command an operator uses on the server's archive.
    contributor_key = admin("keys", "create", "--name", "field-team", "--role", "contributor").stdout.split()[-1]
    analyst_key = admin("keys", "create", "--name", "analyst-mina", "--role", "analyst").stdout.split()[-1]
    team, analyst = admin.as_key(contributor_key), admin.as_key(analyst_key)

    shooting = team(
        "incident", "create", "--title", "Shooting at Sadeghieh square", "--starts-at", "2019-11-16T14:00:00+03:30",
        "--precision", "hour", "--place", "Sadeghieh square", "--lat", "35.7219", "--lon", "51.3347",
        "--radius-m", "300", "--tag", "shooting",
    ).stdout.strip()  # fmt: skip
    march = team(
        "incident", "create", "--title", "March on Azadi street", "--starts-at", "2019-11-16T12:00:00+03:30",
        "--precision", "day", "--tag", "protest",
    ).stdout.strip()  # fmt: skip
    typo = team("case", "create", "--title", "Submission", "--incident", shooting, "--incident", "no-such", ok=False)
    assert typo.returncode == 1 and "404" in typo.stderr
    assert json.loads(team("case", "list", "--json").stdout)["total"] == 0  # nothing half-made
    case_id = team("case", "create", "--title", "Submission to the fact-finding mission", "--incident", shooting)
    case_id = case_id.stdout.strip()
    team("case", "add", case_id, march)

    uploaded = team("ingest", str(tagged), str(street), "--server", any_server.url, "--source", "witness A").stdout
    tagged_id, street_id = (line.split()[0] for line in uploaded.strip().splitlines())
    for clip_id in (tagged_id, street_id):
        wait_until_analysed(team, clip_id)

    muzzle_flash = team("link", tagged_id, shooting, "--from", "0.5", "--to", "2", "--note", "muzzle flash").stdout
    team("link", tagged_id, shooting, "--from", "2.5", "--to", "3", "--note", "the fall")
    team("link", street_id, march)
    beyond = team("link", tagged_id, shooting, "--from", "1", "--to", "60", ok=False)
    assert beyond.returncode == 1 and "outside the clip" in beyond.stderr

    assert case_id in team("case", "list", "--text", "fact-finding", "--status", "open").stdout
    shown = team("case", "show", case_id).stdout
    assert "Shooting at Sadeghieh square" in shown and "March on Azadi street" in shown
    assert f"clip {tagged_id}, 0.5–2.0 s" in shown and f"clip {street_id}, whole clip" in shown

    refused = team("review", tagged_id, "in_review", "--rationale", "I think it is real", ok=False)
    assert refused.returncode == 1 and "403" in refused.stderr
    analyst("review", tagged_id, "in_review", "--rationale", "geolocating the rooftop")
    verified = analyst("review", tagged_id, "verified", "--rationale", "skyline and shadows match 14:10 local").stdout
    assert f"clip {tagged_id} is now verified" in verified
    assert "unverified → in_review  by analyst-mina: geolocating the rooftop" in verified

    # Find clips by place and time (the file's own GPS and creation time), by case and by review state.
    def found(*filters: str) -> str:
        return team("clip", "list", *filters).stdout

    assert tagged_id in found("--bbox", TEHRAN) and street_id not in found("--bbox", TEHRAN)
    assert tagged_id not in found("--bbox", ISFAHAN)
    in_window = found("--bbox", TEHRAN, "--recorded-from", "2019-11-16T00:00:00Z", "--recorded-to", "2019-11-17T00:00Z")
    assert tagged_id in in_window
    assert tagged_id not in found("--recorded-from", "2020-01-01T00:00:00Z")
    in_case = found("--case", case_id)
    assert tagged_id in in_case and street_id in in_case
    assert street_id in found("--incident", march) and tagged_id not in found("--incident", march)
    assert tagged_id in found("--verification", "verified") and street_id not in found("--verification", "verified")
    incidents = team("incident", "list", "--bbox", TEHRAN, "--from", "2019-11-16T00:00Z", "--to", "2019-11-17T00:00Z")
    assert shooting in incidents.stdout and march not in incidents.stdout  # the march has no place

    link_id = muzzle_flash.strip()
    version = re.search(rf"link {link_id} \(version (\d+)\)", team("incident", "show", shooting).stdout)
    assert version is not None
    assert team("unlink", shooting, link_id, ok=False).returncode == 2  # the version read is required
    stale = team("unlink", shooting, link_id, "--if-match", str(int(version[1]) + 1), ok=False)
    assert stale.returncode == 1 and "412" in stale.stderr
    team("unlink", shooting, link_id, "--if-match", version[1])
    custody = team("clip", "custody", tagged_id).stdout
    assert "custody chain verifies" in custody
    for action in ("uploaded", "linked", "verification_changed", "unlinked"):
        assert action in custody
    # The custody log holds who did what, in order.
    log = httpx.get(
        f"{any_server.url}/api/v1/clips/{tagged_id}/custody", headers={"Authorization": f"Bearer {contributor_key}"}
    ).json()
    tail = [(event["action"], event["actor"]) for event in log["events"][-5:]]
    assert tail == [
        ("linked", "field-team"),
        ("linked", "field-team"),
        ("verification_changed", "analyst-mina"),
        ("verification_changed", "analyst-mina"),
        ("unlinked", "field-team"),
    ]
    assert log["verified"] is True
