"""Fixity audit throughput against `sha256sum` of the same originals, in the same run.

Builds an embedded archive (SQLite and a local folder) in a temporary folder with `--clips`
originals of `--size-mb` MiB of random bytes each, then, `--repeat` rounds interleaved, times
`sha256sum` over the stored originals and a whole unpaced fixity audit (`run_fixity_audit` with
VERITY_FIXITY_MB_PER_S=0: read, hash, chain check and custody event per clip). Both read files
the page cache holds (the audit's reads are what a warm disk gives; a cold one is the disk's
speed for both). Finally one paced audit at `--pace` MB/s shows the pacing holds.

    .venv/bin/python bench/fixity.py                       # 8 × 128 MiB, 3 rounds
    .venv/bin/python bench/fixity.py --clips 4 --size-mb 256 --repeat 5 --json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest.fixity import run_fixity_audit  # noqa: E402
from ingest.upload import Receipt, receive_original  # noqa: E402
from storage.archive import Archive, open_archive  # noqa: E402
from storage.models import Clip  # noqa: E402
from verity.settings import Settings  # noqa: E402

MIB = 1024 * 1024


def build_archive(folder: Path, clips: int, size_mb: int) -> tuple[Archive, list[Path]]:
    archive = open_archive(Settings(data_dir=folder, fixity_mb_per_s=0), upgrade=True)
    for _ in range(clips):
        chunks = (os.urandom(MIB) for _ in range(size_mb))
        receive_original(archive, chunks, Receipt(received_by="bench", filename="bench.bin"))
    with archive.sessions() as session:
        keys = [clip.blob_key for clip in session.query(Clip).order_by(Clip.id)]
    paths = [archive.blobs.local_path(key) for key in keys]
    assert all(paths)
    return archive, [p for p in paths if p is not None]


def time_sha256sum(paths: list[Path]) -> float:
    started = time.perf_counter()
    subprocess.run(["sha256sum", *map(str, paths)], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def time_audit(archive: Archive) -> float:
    started = time.perf_counter()
    progress = run_fixity_audit(archive, "bench")
    elapsed = time.perf_counter() - started
    assert progress is not None and progress.finished and not progress.failed
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--size-mb", type=int, default=128, help="MiB per original")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pace", type=float, default=100.0, help="MB/s for the paced audit (0: skip it)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="verity-bench-fixity-"))
    try:
        archive, paths = build_archive(folder, args.clips, args.size_mb)
        total_mib = args.clips * args.size_mb
        time_sha256sum(paths)  # into the page cache, for both
        rounds = []
        for _ in range(args.repeat):
            sha_s = time_sha256sum(paths)
            audit_s = time_audit(archive)
            rounds.append({"sha256sum_mib_s": total_mib / sha_s, "audit_mib_s": total_mib / audit_s})
        paced = None
        if args.pace > 0:
            archive.settings.fixity_mb_per_s = args.pace
            paced_s = time_audit(archive)
            paced = {"pace_mb_s": args.pace, "measured_mb_s": total_mib * MIB / 1e6 / paced_s}
        ratios = [r["audit_mib_s"] / r["sha256sum_mib_s"] for r in rounds]
        result = {
            "clips": args.clips,
            "size_mib": args.size_mb,
            "rounds": rounds,
            "median_ratio": statistics.median(ratios),
            "paced": paced,
        }
        archive.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{args.clips} originals × {args.size_mb} MiB, warm page cache")
    print("| round | sha256sum | audit | ratio |")
    print("| ----- | --------- | ----- | ----- |")
    for index, (row, ratio) in enumerate(zip(rounds, ratios, strict=True), 1):
        print(f"| {index} | {row['sha256sum_mib_s']:.1f} MiB/s | {row['audit_mib_s']:.1f} MiB/s | {ratio:.2f} |")
    print(f"median ratio {result['median_ratio']:.2f} (goal ≥ 0.8)")
    if paced:
        print(f"paced at {paced['pace_mb_s']:.0f} MB/s: {paced['measured_mb_s']:.1f} MB/s")


if __name__ == "__main__":
    main()
