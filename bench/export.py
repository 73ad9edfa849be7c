"""Export benchmark: an evidence export's bag against `zip -0` of the same originals.

In a fresh temporary folder: writes `--files` files of random bytes (`--size-mb` MiB in all),
archives them as clips of an embedded archive (SQLite + local folder; no analysis), then, `--repeat`
rounds interleaved, times `zip -0 -q` over the archived originals themselves (the files the export
reads) and the export job (`ingest/export.py` `run_export`, in this process, as the API's runner
runs it) building its BagIt zip into the archive's object store, sampling this process's RSS every
50 ms during the job. Checks the bag's payload manifest lists every original with its SHA-256.
Everything it made is removed at the end.

    .venv/bin/python bench/export.py [--size-mb 1024] [--files 4] [--repeat 2] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingest.export import run_export  # noqa: E402
from ingest.near_duplicates import NearDuplicateFinder  # noqa: E402
from ingest.upload import Receipt, receive_original  # noqa: E402
from storage.archive import open_archive  # noqa: E402
from storage.exports import ExportRequest, create_export, load_export  # noqa: E402
from storage.models import Clip  # noqa: E402
from verity.settings import Settings  # noqa: E402

MIB = 1024 * 1024
GOAL_RATIO = 0.5


def write_random(path: Path, size: int) -> None:
    with path.open("wb") as handle:
        left = size
        while left:
            chunk = os.urandom(min(MIB, left))
            handle.write(chunk)
            left -= len(chunk)
        handle.flush()
        os.fsync(handle.fileno())


def file_chunks(path: Path) -> Any:
    with path.open("rb") as handle:
        while chunk := handle.read(MIB):
            yield chunk


class RssPeak:
    """This process's resident memory, sampled every 50 ms while in the `with`."""

    def __enter__(self) -> RssPeak:
        self.process = psutil.Process()
        self.idle = self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="verity-bench-export-"))
    try:
        archive = open_archive(Settings(data_dir=folder / "archive"), upgrade=True)
        finder = NearDuplicateFinder(archive.sessions)
        each = args.size_mb * MIB // args.files
        clip_ids, originals = [], []
        for number in range(args.files):
            source = folder / f"clip{number}.mp4"
            write_random(source, each)
            clip = receive_original(archive, file_chunks(source), Receipt("bench", source.name)).clip
            source.unlink()
            clip_ids.append(clip.id)
        with archive.reads() as session:
            for clip_id in clip_ids:
                path = archive.blobs.local_path(session.get_one(Clip, clip_id).blob_key)
                assert path is not None
                originals.append(path)
        rows = []
        for _round in range(args.repeat):
            target = folder / "zip0.zip"
            started = time.perf_counter()
            subprocess.run(["zip", "-0", "-q", "-j", str(target), *map(str, originals)], check=True)
            zip_s = time.perf_counter() - started
            target.unlink()
            with archive.sessions.begin() as session:
                export_id = create_export(session, ExportRequest("clips", None, tuple(clip_ids)), "bench").id
            with RssPeak() as rss:
                started = time.perf_counter()
                status = run_export(archive, finder, export_id)
                export_s = time.perf_counter() - started
            with archive.reads() as session:
                export = load_export(session, export_id)
                size, key = export.size_bytes or 0, export.blob_key or ""
            bag_path = archive.blobs.local_path(key)
            assert status == "ready" and bag_path is not None
            with zipfile.ZipFile(bag_path) as bag:
                manifest = next(name for name in bag.namelist() if name.endswith("/manifest-sha256.txt"))
                listed = bag.read(manifest).decode()
            for path in originals:
                assert f"{path.name}  data/originals/{path.name}.mp4" in listed, "an original is missing"
            bag_path.unlink()
            rows.append(
                {
                    "payload_mib": args.size_mb,
                    "files": args.files,
                    "zip0_mib_s": round(args.size_mb / zip_s, 1),
                    "export_mib_s": round(args.size_mb / export_s, 1),
                    "ratio": round(zip_s / export_s, 2),
                    "bag_mib": round(size / MIB, 1),
                    "rss_idle_mib": round(rss.idle / MIB),
                    "rss_peak_mib": round(rss.peak / MIB),
                }
            )
        archive.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print("| payload | files | zip -0 | export | ratio (goal ≥ 0.5) | bag | RSS idle / peak |")
    print("| ------- | ----- | ------ | ------ | ------------------ | --- | --------------- |")
    for row in rows:
        print(
            f"| {row['payload_mib']} MiB | {row['files']} | {row['zip0_mib_s']} MiB/s | {row['export_mib_s']} MiB/s "
            f"| {row['ratio']} | {row['bag_mib']} MiB | {row['rss_idle_mib']} / {row['rss_peak_mib']} MiB |"
        )
    print(f"goal met: {all(row['ratio'] >= GOAL_RATIO for row in rows)}", file=sys.stderr)


if __name__ == "__main__":
    main()
