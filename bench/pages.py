"""Page speed of the workbench with 10,000 clips in the archive (issue 12: every page within 200 ms
at p95 on this machine).

For each archive asked for, a `verity serve` of its own on 127.0.0.1 (embedded: SQLite and a
local folder; scaled: a fresh PostgreSQL database, SeaweedFS, procrastinate and one `verity
worker`, as bench/load.py starts them). The archive is filled in two ways:

- real: `REAL_CLIPS` clips made with ffmpeg (an original, a mirrored copy of it, three unrelated
  ones) uploaded through the API and analysed by the server (keyframes, fingerprints, custody, a
  suggested copy pair), the pair then confirmed by an analyst;
- synthetic: the rest, recorded in the benchmark's process through the storage layer's own
  functions as ingest records them (a clip and its acquisition with a source; its custody chain
  from `uploaded` to `ingest_finished` by `append_event`, the analysis events' details copied from
  a real clip's; its media, probe and integrity JSON and keyframe rows, pointing at the real
  clips' thumbnails). Their originals are not stored (no page reads them), so the servers run
  with fixity audits a century apart.

Then: incidents, a case holding some of them with a member, links of clips to incidents, a few
hand-ins of the same clip into the case, and `--long-log` downloads recorded on one real clip (a
long custody log). SQLite's planner statistics are gathered (as the server's hourly task would)
and the server started again. A person signs in through the sign-in form and each page in
`PAGES` is timed,
first by one client (`--rounds` times each), then by `--clients` clients at once (each page
`--rounds` times per client); p50, p95 and max per page, and the server's CPU per request. The
goal is judged on the one client (an investigator opening pages); the clients at once say how
the pages share one server process.

A page is one line of `PAGES`: its name and its path, with `{clip}`, `{long_log_clip}`,
`{original}`, `{copy}`, `{incident}` and `{case}` filled in.

    .venv/bin/python bench/pages.py [--archives embedded,scaled] [--clips 10000] [--rounds 30]
        [--clients 4] [--long-log 3000] [--postgres-url URL] [--json] [--keep DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psutil
from sqlalchemy import select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import VERITY, Server, percentile, scaled_archive, serving  # noqa: E402
from ingest.upload import original_key  # noqa: E402
from storage.archive import open_archive  # noqa: E402
from storage.cases import create_case, set_case_incident  # noqa: E402
from storage.chain import timestamp  # noqa: E402
from storage.custody import append_event, list_events  # noqa: E402
from storage.db import refresh_statistics  # noqa: E402
from storage.evidence import IncidentFields, change_verification, create_incident, link_clip  # noqa: E402
from storage.members import set_member  # noqa: E402
from storage.models import Acquisition, Clip, Keyframe  # noqa: E402
from storage.people import create_person  # noqa: E402
from storage.vocabulary import ClipStatus  # noqa: E402
from storage.vouched import check_custody  # noqa: E402
from tests import media  # noqa: E402
from verity.settings import Settings  # noqa: E402

GOAL_P95_MS = 200
REQUEST_TIMEOUT_S = 30
REAL_CLIPS = 5
NO_AUDIT_S = 100 * 365 * 86400
PASSWORD = "bench-pages-password-1"
# The pages timed: every page of the workbench that a GET opens.
PAGES: list[tuple[str, str]] = [
    ("archive", "/"),
    ("archive, filtered", "/?status=ready&has_near_duplicates=true"),
    ("archive, deep page", "/?offset=9000"),
    ("clip", "/clips/{clip}"),
    ("clip, long custody log", "/clips/{long_log_clip}"),
    ("compare", "/clips/{copy}/compare/{original}"),
    ("upload", "/upload"),
    ("row fragment", "/clips/{clip}/row"),
    ("incidents", "/incidents"),
    ("incident", "/incidents/{incident}"),
    ("cases", "/cases"),
    ("case", "/cases/{case}"),
    ("API reference", "/docs"),
]


@dataclass
class Timings:
    samples_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    server_cpu_s: float = 0.0

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.samples_ms)
        return {
            "requests": len(ordered),
            "p50_ms": round(percentile(ordered, 0.5), 1),
            "p95_ms": round(percentile(ordered, 0.95), 1),
            "max_ms": round(max(ordered, default=0.0), 1),
            "server_cpu_ms_per_request": round(1000 * self.server_cpu_s / max(len(ordered), 1), 1),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
        }


@dataclass
class Result:
    archive: str
    clips: int
    seed_s: dict[str, float]
    sequential: dict[str, dict[str, Any]]
    concurrent: dict[str, dict[str, Any]]
    clients: int
    concurrent_wall_s: float
    concurrent_server_cpu_s: float
    load_average: str

    def goals_met(self) -> bool:
        """The issue's goal: each page, asked for by one investigator, within GOAL_P95_MS at p95.
        Several clients at once are measured beside it (what one server process on these two
        cores gives), and every answer of both must be a 200."""
        timed = all(page["p95_ms"] <= GOAL_P95_MS for page in self.sequential.values())
        pages = [*self.sequential.values(), *self.concurrent.values()]
        return timed and all(set(page["statuses"]) == {"200"} for page in pages)


# --- filling the archive ------------------------------------------------------------------------


def make_real_clips(folder: Path) -> dict[str, Path]:
    source = media.make_source(folder / "original.mp4", seconds=12)
    return {
        "original": source,
        "copy": media.make_copy(folder / "copy.mp4", source, "-ss", "2", "-t", "8", "-i", "-vf", "scale=320:180,hflip"),
        **{f"other-{n}": media.make_h264_aac(folder / f"other-{n}.mp4", seconds=3 + n) for n in range(REAL_CLIPS - 2)},
    }


def upload_real(server: Server, files: dict[str, Path]) -> dict[str, str]:
    """Upload and wait for analysis; the ids by name. The copy goes in after its original."""
    headers = {"Authorization": f"Bearer {server.key}"}
    ids: dict[str, str] = {}
    with httpx.Client(base_url=server.url, headers=headers, timeout=REQUEST_TIMEOUT_S) as client:
        for name, path in files.items():
            with path.open("rb") as handle:
                answer = client.post("/api/v1/clips", files={"file": (path.name, handle, "video/mp4")})
            answer.raise_for_status()
            ids[name] = answer.json()["id"]
            deadline = time.monotonic() + 300
            while client.get(f"/api/v1/clips/{ids[name]}").json()["status"] in ("queued", "processing"):
                assert time.monotonic() < deadline, f"clip {name} was not analysed within 300 s"
                time.sleep(0.3)
        related = client.get(f"/api/v1/clips/{ids['copy']}/related").json()["related"]
        assert any(r["clip_id"] == ids["original"] for r in related), f"the copy was not matched: {related}"
        decided = client.put(
            f"/api/v1/clips/{ids['copy']}/related/{ids['original']}/decision",
            json={"decision": "confirmed", "note": "same footage, mirrored"},
        )
        decided.raise_for_status()
    return ids


def settings_for(folder: Path, env: dict[str, str]) -> Settings:
    values: dict[str, Any] = {name.removeprefix("VERITY_").lower(): value for name, value in env.items()}
    return Settings(data_dir=folder / "data", **values)


def receipt(clip: Clip, acquisition: Acquisition) -> dict[str, Any]:
    """An event of receipt's details, as ingest/upload.py records them."""
    return {
        "acquisition_id": acquisition.id,
        "filename": acquisition.filename,
        "sha256": clip.sha256,
        "size_bytes": clip.size_bytes,
        "source": acquisition.source,
        "source_url": acquisition.source_url,
        "captured_at": None,
        "note": acquisition.note,
        "received_at": timestamp(acquisition.received_at),
        "case_id": acquisition.case_id,
    }


def seed_synthetic(settings: Settings, count: int, template_id: str, batch: int = 250) -> None:
    """`count` clips recorded as an upload and a finished analysis record them."""
    archive = open_archive(settings)
    try:
        with archive.reads() as session:
            template = session.get(Clip, template_id)
            assert template is not None
            # The real original's analysis, as its custody log has it: from its claim to its end.
            logged = [(event.action, json.loads(event.details)) for event in list_events(session, template_id)]
            actions = [action for action, _ in logged]
            analysis = logged[actions.index("ingest_started") : actions.index("ingest_finished") + 1]
            query = select(Keyframe.__table__).where(Keyframe.clip_id == template_id)
            frames = [dict(row) for row in session.execute(query).mappings()]
            shape = {
                name: getattr(template, name)
                for name in ("content_type", "media", "probe_raw", "integrity", "content_credentials")
            }
            shape["content_credentials_state"] = template.content_credentials_state
        start = datetime.now(UTC) - timedelta(days=365)
        # Half the clips reviewed, as an analyst does it (each change in the custody log too).
        reviews: tuple[tuple[str, ...], ...] = ((), (), (), ("in_review",), ("in_review", "verified"))
        reviews += (("in_review", "disputed"),)
        for first in range(0, count, batch):
            with archive.sessions.begin() as session:
                for number in range(first, min(first + batch, count)):
                    sha256 = hashlib.sha256(f"synthetic clip {number}".encode()).hexdigest()
                    size = 2_000_000 + number * 37
                    when = start + timedelta(minutes=50 * number)
                    warned = number % 97 == 0
                    clip = Clip(
                        sha256=sha256,
                        size_bytes=size,
                        filename=f"street-{number:05d}.mp4",
                        blob_key=original_key(sha256),
                        status=ClipStatus.ready,
                        uploaded_by="contributor-bench",
                        created_at=when,
                        recorded_at=when - timedelta(hours=3),
                        recorded_earliest=when - timedelta(hours=3),
                        recorded_latest=when - timedelta(hours=3),
                        recorded_sort_at=when - timedelta(hours=3),
                        device_make=("Apple", "samsung", "Google")[number % 3],
                        device_model=("iPhone 12", "SM-G991B", "Pixel 7")[number % 3],
                        integrity_warnings=1 if warned else 0,
                        ingest_progress=1.0,
                        ingest_attempt=1,
                        **shape,
                    )
                    session.add(clip)
                    session.flush()
                    acquisition = Acquisition(
                        clip_id=clip.id,
                        received_at=when,
                        received_by="contributor-bench",
                        filename=clip.filename,
                        source=f"Telegram channel {number % 40}",
                        source_url=f"https://t.me/channel{number % 40}/{number}",
                        note="bench",
                    )
                    session.add(acquisition)
                    session.flush()
                    append_event(session, clip.id, "uploaded", "contributor-bench", receipt(clip, acquisition))
                    for action, details in analysis:
                        append_event(session, clip.id, action, "ingest", details)
                    for review in reviews[number % len(reviews)]:
                        change_verification(session, clip.id, review, "checked against the map", "analyst-bench")
                    session.add_all(Keyframe(**{**frame, "id": None, "clip_id": clip.id}) for frame in frames)
    finally:
        archive.close()


def seed_records(settings: Settings, ids: dict[str, str], long_log: int) -> dict[str, str]:
    """Incidents, a case holding some with a member, links, hand-ins into the case, a long custody
    log. Returns the ids the pages name."""
    archive = open_archive(settings)
    try:
        with archive.sessions.begin() as session:
            real = set(ids.values())
            clip_ids = [i for i in session.scalars(select(Clip.id).order_by(Clip.id)) if i not in real]
            incidents = []
            for number in range(60):
                fields = IncidentFields(
                    title=f"Protest at square {number}",
                    description="Crowd dispersed; several clips.",
                    starts_at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=number),
                    ends_at=None,
                    time_precision="hour",
                    place_name=f"Square {number}",
                    lat=35.7,
                    lon=51.4,
                    radius_m=500,
                    tags=["protest"],
                )
                incidents.append(create_incident(session, fields, "analyst-bench"))
            case = create_case(session, "Inquiry submission", "Clips for the inquiry.", "open", "admin-bench")
            for incident in incidents[:10]:
                set_case_incident(session, case.id, incident.id, True, "admin-bench")
            create_person(session, "guest-bench", "none", PASSWORD)
            set_member(session, case.id, "guest-bench", "viewer", [], None, "admin-bench")
            for number, clip_id in enumerate(clip_ids[:600]):
                link_clip(session, incidents[number % len(incidents)].id, clip_id, None, None, "seen", "analyst-bench")
            for incident in incidents[:3]:
                link_clip(session, incident.id, ids["original"], None, None, "the original", "analyst-bench")
            for number, clip_id in enumerate(clip_ids[600:700]):
                hand_in = Acquisition(
                    clip_id=clip_id,
                    received_at=datetime.now(UTC),
                    received_by="guest-bench",
                    filename=f"case-copy-{number}.mp4",
                    source="a witness",
                    case_id=case.id,
                )
                session.add(hand_in)
                session.flush()
                clip = session.get(Clip, clip_id)
                assert clip is not None
                append_event(session, clip_id, "acquired_duplicate", "guest-bench", receipt(clip, hand_in))
        with archive.sessions.begin() as session:
            for number in range(long_log):
                details = {"range": None if number % 5 else "bytes=0-1000", "bytes": 1000 + number}
                append_event(session, ids["long_log"], "downloaded", "analyst-bench", details)
        return {"incident": incidents[0].id, "case": case.id}
    finally:
        archive.close()


def check_sample(settings: Settings) -> None:
    """The synthetic records must hold up as real ones do: the chain check of a few clips of each
    kind (reviewed or not, handed into the case) passes."""
    archive = open_archive(settings)
    try:
        with archive.reads() as session:
            named = select(Clip).where(Clip.filename.in_([f"street-{n:05d}.mp4" for n in range(12)]))
            handed = select(Clip).join(Acquisition).where(Acquisition.case_id.is_not(None)).limit(3)
            for clip in [*session.scalars(named), *session.scalars(handed)]:
                _, check = check_custody(session, clip)
                assert check.verified, f"synthetic clip {clip.filename}: {check.reason} {check.mismatches}"
    finally:
        archive.close()


# --- timing ---------------------------------------------------------------------------------------


def signed_in(server: Server, name: str) -> httpx.Client:
    """A browser-like client signed in through the sign-in form."""
    client = httpx.Client(base_url=server.url, timeout=REQUEST_TIMEOUT_S)
    client.get("/sign-in").raise_for_status()
    form = {"name": name, "password": PASSWORD, "csrf_token": client.cookies["verity_sign_in"], "next": "/"}
    answer = client.post("/sign-in", data=form)
    assert answer.status_code == 303, f"sign-in refused: {answer.status_code} {answer.text[:300]}"
    return client


def time_pages(
    server: Server, person: str, paths: dict[str, str], rounds: int, clients: int
) -> tuple[dict[str, Timings], float, float]:
    """Each page `rounds` times by each of `clients` clients at once (one client: sequentially,
    page by page, with the server's CPU per page). Returns the timings, wall and server CPU."""
    process = psutil.Process(server.process.pid)

    def cpu() -> float:
        times = process.cpu_times()
        return float(times.user + times.system)

    timings = {name: Timings() for name in paths}
    lock = threading.Lock()
    sessions = [signed_in(server, person) for _ in range(clients)]
    for session in sessions:  # warm: templates compiled, caches filled
        for path in paths.values():
            session.get(path)

    def fetch(session: httpx.Client, name: str) -> None:
        started = time.perf_counter()
        answer = session.get(paths[name])
        elapsed = (time.perf_counter() - started) * 1000
        with lock:
            timings[name].samples_ms.append(elapsed)
            timings[name].statuses[answer.status_code] = timings[name].statuses.get(answer.status_code, 0) + 1

    began, cpu_before = time.perf_counter(), cpu()
    if clients == 1:
        for name in paths:
            before = cpu()
            for _ in range(rounds):
                fetch(sessions[0], name)
            timings[name].server_cpu_s = cpu() - before
    else:

        def client(number: int) -> None:
            names = list(paths)
            for step in range(rounds * len(names)):
                fetch(sessions[number], names[(step + number) % len(names)])

        threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(REQUEST_TIMEOUT_S * rounds * len(paths))
    wall, used = time.perf_counter() - began, cpu() - cpu_before
    if clients > 1:
        total = sum(len(t.samples_ms) for t in timings.values())
        for t in timings.values():  # not separable per page: the mean over all requests
            t.server_cpu_s = used * len(t.samples_ms) / max(total, 1)
    for session in sessions:
        session.close()
    return timings, wall, used


def run_archive(archive: str, args: argparse.Namespace, folder: Path) -> Result:
    seed: dict[str, float] = {}
    with contextlib.ExitStack() as stack:
        env = stack.enter_context(scaled_archive(folder, args.postgres_url)) if archive == "scaled" else {}
        # The synthetic clips' originals are not stored: no fixity audit may come due and fail them.
        env = {**env, "VERITY_FIXITY_INTERVAL_S": str(NO_AUDIT_S)}
        with_worker = archive == "scaled"
        started = time.perf_counter()
        files = make_real_clips(folder)
        seed["make_real_clips_s"] = time.perf_counter() - started
        settings = settings_for(folder, env)
        with serving(folder, env, with_worker) as server:
            started = time.perf_counter()
            ids = upload_real(server, files)
            ids["long_log"] = ids["other-0"]
            seed["upload_and_analyse_real_s"] = time.perf_counter() - started
        subprocess.run(
            [VERITY, "users", "create", "analyst-bench", "--role", "analyst", "--password-stdin"],
            input=PASSWORD + "\n",
            env={**os.environ, "VERITY_DATA_DIR": str(folder / "data"), **env},
            check=True,
            capture_output=True,
            text=True,
        )
        started = time.perf_counter()
        seed_synthetic(settings, args.clips - REAL_CLIPS, ids["original"])
        seed["synthetic_clips_s"] = time.perf_counter() - started
        started = time.perf_counter()
        ids.update(seed_records(settings, ids, args.long_log))
        seed["records_s"] = time.perf_counter() - started
        check_sample(settings)
        # What the hourly statistics task (ingest/periodic.py) does for an archive that grew over
        # months; this one grew in a minute, after the server's first run of it.
        gathered = open_archive(settings)
        refresh_statistics(gathered.engine)
        gathered.close()
        names = {"clip": ids["original"], "long_log_clip": ids["long_log"], **ids}
        paths = {name: path.format(**names) for name, path in PAGES}
        server = stack.enter_context(serving(folder, env, with_worker, key_name="admin-again"))
        sequential, _, _ = time_pages(server, "analyst-bench", paths, args.rounds, 1)
        concurrent, wall, used = time_pages(server, "analyst-bench", paths, args.rounds, args.clients)
    return Result(
        archive=archive,
        clips=args.clips,
        seed_s={k: round(v, 1) for k, v in seed.items()},
        sequential={name: t.summary() for name, t in sequential.items()},
        concurrent={name: t.summary() for name, t in concurrent.items()},
        clients=args.clients,
        concurrent_wall_s=round(wall, 1),
        concurrent_server_cpu_s=round(used, 1),
        load_average=" ".join(f"{load:.1f}" for load in os.getloadavg()),
    )


def print_result(result: Result) -> None:
    print(f"\n== {result.archive}: {result.clips} clips; seeding {result.seed_s}")
    for mode, pages in (("one client", result.sequential), (f"{result.clients} clients", result.concurrent)):
        print(f"-- {mode}")
        print(f"{'page':<26} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'CPU ms/req':>10}  statuses")
        for name, page in pages.items():
            print(
                f"{name:<26} {page['requests']:>4} {page['p50_ms']:>8} {page['p95_ms']:>8} {page['max_ms']:>8} "
                f"{page['server_cpu_ms_per_request']:>10}  {page['statuses']}"
            )
    print(
        f"concurrent: {result.concurrent_wall_s} s wall, server CPU {result.concurrent_server_cpu_s} s; "
        f"load average {result.load_average}"
    )
    crowded = sum(page["p95_ms"] > GOAL_P95_MS for page in result.concurrent.values())
    verdict = "met" if result.goals_met() else "NOT met"
    print(f"goal (one client, every page p95 <= {GOAL_P95_MS} ms; all 200): {verdict}")
    print(f"{result.clients} clients at once: {crowded} of {len(result.concurrent)} pages over {GOAL_P95_MS} ms at p95")


def revision() -> str:
    found = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    asked = ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"]
    dirty = subprocess.run(asked, capture_output=True)
    return found.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--archives", default="embedded")
    parser.add_argument("--clips", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=30, help="Requests of each page per client.")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--long-log", type=int, default=3000, help="Downloads recorded on one clip.")
    parser.add_argument("--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--json", action="store_true", help="Print the results as JSON too.")
    parser.add_argument("--keep", type=Path, help="Build the archives in this new folder and keep them (to profile).")
    args = parser.parse_args(argv)
    archives = [name.strip() for name in args.archives.split(",") if name.strip()]
    if not set(archives) <= {"embedded", "scaled"}:
        parser.error("archives: embedded,scaled")
    if not 1_000 <= args.clips <= 100_000 or not 1 <= args.rounds <= 500 or not 2 <= args.clients <= 32:
        parser.error("1,000-100,000 clips, 1-500 rounds, 2-32 clients: the benchmark stays bounded")
    if not 0 <= args.long_log <= 50_000:
        parser.error("at most 50,000 downloads on the long log")
    print(f"machine: {os.cpu_count()} CPUs, {platform.platform()}, Python {platform.python_version()}")
    print(f"code {revision()}, started {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC")
    results = []
    if args.keep:
        args.keep.mkdir(parents=True)  # a new folder: a kept archive is never built over another
    with contextlib.ExitStack() as stack:
        temporary = args.keep or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="verity-pages-")))
        for archive in archives:
            folder = temporary / archive
            folder.mkdir()
            result = run_archive(archive, args, folder)
            print_result(result)
            results.append(result)
    print(f"ended {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC")
    if args.json:
        print(json.dumps([asdict(r) for r in results], indent=2))
    return 0 if all(r.goals_met() for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
