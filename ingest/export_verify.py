#!/usr/bin/env python3
"""verify.py: check a Verity evidence export (a BagIt bag) without Verity.

Needs only Python 3.8+ and its standard library, and `openssl` on the PATH for the timestamp
tokens. Run it in the unpacked bag (`python3 verify.py`), or name the bag's folder or its zip:
`python3 verify.py BAG [--ca-file ROOTS.pem]`. It prints one verdict per item and exits 1 if any
item fails:

- every payload file against manifest-sha256.txt (and no payload file left out of it), every tag
  file against tagmanifest-sha256.txt, and Payload-Oxum;
- every hash chain (a clip's custody log, an incident's or case's history): each line is the JSON
  object a link's hash covers plus its `prev_hash` and `hash`; hash = SHA-256(bytes of prev_hash ‖
  UTF-8 canonical JSON of the line without `prev_hash` and `hash`: keys sorted, no spaces, non-ASCII
  as is), the first link follows 64 zeros, seq counts from 0. A line with `left_out` had protected
  sources (who handed a clip in, from where), or what it says of a case or incident its exporter
  may not see (a receipt into it, a link to it, an export of it), replaced by "redacted" for this
  export: its hash cannot be recomputed without them, so it is followed, not recomputed (the next
  line, the head the clip's metadata names and any anchor still hold it in place), and said so;
- that each original's SHA-256 and size are those its `uploaded` custody event recorded, and its
  file name the clip's (unless left out), and that the custody head each clip's metadata names is
  in its chain;
- every timestamp token (data/timestamps/*.json, timestamps/*.json) with `openssl ts -verify`
  against the certificates included (or --ca-file, the roots you trust), that it stamps what it
  says (an original's hash, the payload manifest, or the Merkle root of chain heads), and for an
  anchor that each anchored head is still in its chain.

This file is Verity's ingest/export_verify.py, copied into every export.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

GENESIS_HASH = "0" * 64
CHUNK = 1024 * 1024
# Which file of the bag holds each kind of chain an anchor names, by export.json's lists.
CHAIN_LISTS = {"custody": "clips", "incident": "incidents", "case": "cases"}


class Report:
    """The verdicts, printed as they come."""

    def __init__(self) -> None:
        self.checked = 0
        self.tokens = 0
        self.failed: list[str] = []

    def ok(self, item: str, what: str) -> None:
        self.checked += 1
        print(f"OK    {item}: {what}")

    def fail(self, item: str, why: str) -> None:
        self.checked += 1
        self.failed.append(item)
        print(f"FAIL  {item}: {why}")


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def decode_path(text: str) -> str:
    """A manifest path as RFC 8493 writes it: CR, LF and % percent-encoded."""
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%0d", "\r").replace("%0a", "\n").replace("%25", "%")


def read_manifest(path: Path) -> dict[str, str]:
    entries: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            digest, _, name = line.partition(" ")
            entries[decode_path(name.strip())] = digest.strip().lower()
    return entries


def check_files(bag: Path, manifest_name: str, report: Report, hashes: dict[str, str]) -> dict[str, str]:
    manifest = bag / manifest_name
    if not manifest.is_file():
        report.fail(manifest_name, "missing")
        return {}
    entries = read_manifest(manifest)
    for name, expected in sorted(entries.items()):
        path = bag / name
        if ".." in Path(name).parts or not path.is_file():
            report.fail(name, f"listed in {manifest_name} but missing from the bag")
            continue
        actual = file_sha256(path)
        hashes[name] = actual
        if actual == expected:
            report.ok(name, f"sha256 {actual}")
        else:
            report.fail(name, f"sha256 is {actual}, {manifest_name} says {expected}: the file was changed")
    return entries


def check_bag(bag: Path, report: Report, hashes: dict[str, str]) -> None:
    declaration = bag / "bagit.txt"
    if not declaration.is_file() or "BagIt-Version" not in declaration.read_text(encoding="utf-8"):
        report.fail("bagit.txt", "missing or not a BagIt declaration: this is not a bag")
    payload = check_files(bag, "manifest-sha256.txt", report, hashes)
    present = sorted(
        path.relative_to(bag).as_posix() for path in (bag / "data").rglob("*") if path.is_file() or path.is_symlink()
    )
    for name in present:
        if name not in payload:
            report.fail(name, "in the payload but not in manifest-sha256.txt: added after the export")
    check_files(bag, "tagmanifest-sha256.txt", report, hashes)
    info = read_bag_info(bag)
    oxum = info.get("Payload-Oxum")
    if oxum:
        size = sum((bag / name).stat().st_size for name in present)
        if oxum == f"{size}.{len(present)}":
            report.ok("bag-info.txt", f"Payload-Oxum {oxum}")
        else:
            report.fail("bag-info.txt", f"Payload-Oxum says {oxum}, the payload is {size}.{len(present)}")


def read_bag_info(bag: Path) -> dict[str, str]:
    info: dict[str, str] = {}
    path = bag / "bag-info.txt"
    if not path.is_file():
        return info
    last = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line[:1] in (" ", "\t") and last:
            info[last] += " " + line.strip()
        elif ":" in line:
            last, _, value = line.partition(":")
            last = last.strip()
            info[last] = value.strip()
    return info


def read_chain(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


# Only events that record who handed a clip in and from where, or that name another case's records
# (a receipt, a correction, a link, an export), may have them left out; any other line marked so is
# an edit that tries to escape the recomputation.
LEFT_OUT_ACTIONS = (
    "uploaded",
    "acquired_duplicate",
    "acquisition_corrected",
    "linked",
    "unlinked",
    "link_changed",
    "exported",
)


def left_out_problem(link: dict[str, Any]) -> str | None:
    """Why a line marked `left_out` cannot stand, or None: it must be an event of receipt, of a
    correction, of a link or of an export, with each field it names "redacted", and a hash."""
    left_out = link.get("left_out")
    if link.get("action") not in LEFT_OUT_ACTIONS or not isinstance(left_out, list) or not left_out:
        return "is marked as having sources left out, which only an event of receipt, correction, link or export may be"
    try:
        details = json.loads(link.get("details") or "{}")
    except ValueError:
        details = None
    for name in left_out:
        where, _, field = str(name).partition(".")
        value = link.get(where) if not field else (details or {}).get(field)
        if value != "redacted" and not (name == "details" and link.get("details") == "redacted"):
            return f"names {name} as left out, but it is not redacted"
    if not isinstance(link.get("hash"), str) or len(link["hash"]) != 64:
        return "has no hash"
    return None


def chain_problem(links: list[dict[str, Any]], names: dict[str, str]) -> str | None:
    """Why the chain does not verify, or None. `names`: the fields that must name this chain."""
    prev_hash = GENESIS_HASH
    for line_number, link in enumerate(links, start=1):
        body = {key: value for key, value in link.items() if key not in ("prev_hash", "hash", "left_out")}
        for field, expected in names.items():
            if body.get(field) != expected:
                return f"line {line_number} belongs to {field} {body.get(field)!r}, not {expected!r}"
        if body.get("seq") != line_number - 1:
            return f"line {line_number} has seq {body.get('seq')!r}, expected {line_number - 1}: a link is missing"
        if link.get("prev_hash") != prev_hash:
            return f"line {line_number} (seq {line_number - 1}) does not follow the line before it"
        if "left_out" in link:
            problem = left_out_problem(link)
            if problem:
                return f"line {line_number} (seq {line_number - 1}) {problem}"
            prev_hash = link["hash"]
            continue
        computed = hashlib.sha256(bytes.fromhex(prev_hash) + canonical_json(body).encode("utf-8")).hexdigest()
        if computed != link.get("hash"):
            return f"line {line_number} (seq {line_number - 1}) was altered after it was recorded"
        prev_hash = computed
    return None


def load_json(bag: Path, name: str, report: Report) -> Any:
    try:
        return json.loads((bag / name).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        report.fail(name, f"cannot be read: {exc}")
        return None


def check_chains(bag: Path, index: dict[str, Any], report: Report) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Every chain the export lists, recomputed; returns the good ones by (chain kind, id)."""
    chains: dict[tuple[str, str], list[dict[str, Any]]] = {}
    listed = [("custody", clip["clip_id"], clip["custody"], {"clip_id": clip["clip_id"]}) for clip in index["clips"]]
    for kind in ("incident", "case"):
        for record in index[CHAIN_LISTS[kind]]:
            names = {"entity_kind": kind, "entity_id": record["id"]}
            listed.append((kind, record["id"], record["history"], names))
    for kind, chain_id, name, names in listed:
        path = bag / name
        if not path.is_file():
            report.fail(name, f"the {kind} chain of {chain_id} is missing")
            continue
        try:
            links = read_chain(path)
        except ValueError as exc:
            report.fail(name, f"a line is not JSON: {exc}")
            continue
        problem = chain_problem(links, names)
        if problem:
            report.fail(name, f"{kind} chain of {chain_id} does not verify: {problem}")
            continue
        head = f", head seq {len(links) - 1} hash {links[-1]['hash']}" if links else ""
        redacted = sum("left_out" in link for link in links)
        followed = (
            f" ({redacted} with sources left out for this export, followed by their hashes, not recomputed)"
            if redacted
            else ""
        )
        report.ok(name, f"{kind} chain of {chain_id} verifies: {len(links)} links{followed}{head}")
        chains[(kind, chain_id)] = links
    return chains


def check_clips(
    bag: Path,
    index: dict[str, Any],
    chains: dict[tuple[str, str], list[dict[str, Any]]],
    hashes: dict[str, str],
    report: Report,
) -> None:
    for clip in index["clips"]:
        clip_id, item = clip["clip_id"], f"clip {clip['clip_id']}"
        links = chains.get(("custody", clip_id))
        if links is None:
            report.fail(item, "its custody chain does not verify, so nothing it vouches for can be checked")
            continue
        uploaded = next((link for link in links if link.get("action") == "uploaded"), None)
        if uploaded is None:
            report.fail(item, "its custody chain has no `uploaded` event")
            continue
        recorded = json.loads(uploaded["details"])
        filename_left_out = "details.filename" in (uploaded.get("left_out") or [])
        problems = []
        if recorded.get("sha256") != clip["sha256"]:
            problems.append(f"the export says sha256 {clip['sha256']}, its uploaded event {recorded.get('sha256')}")
        if recorded.get("size_bytes") is not None and recorded.get("size_bytes") != clip["size_bytes"]:
            problems.append(f"the export says {clip['size_bytes']} bytes, its uploaded event {recorded['size_bytes']}")
        original = clip.get("original")
        if original:
            path = bag / original
            actual = hashes.get(original) or (file_sha256(path) if path.is_file() else None)
            if actual is None:
                problems.append(f"its original {original} is missing")
            else:
                if actual != recorded.get("sha256"):
                    uploaded_hash = recorded.get("sha256")
                    problems.append(f"its original {original} has sha256 {actual}, not the uploaded {uploaded_hash}")
                if Path(original).name.split(".")[0] != recorded.get("sha256"):
                    problems.append(f"its original's name {Path(original).name} is not the uploaded sha256")
                if path.is_file() and path.stat().st_size != clip["size_bytes"]:
                    problems.append(f"its original has {path.stat().st_size} bytes, not {clip['size_bytes']}")
        metadata = load_json(bag, clip["metadata"], report)
        if isinstance(metadata, dict):
            head = (metadata.get("custody") or {}).get("head_hash")
            length = (metadata.get("custody") or {}).get("length")
            if head and (not isinstance(length, int) or length > len(links) or links[length - 1]["hash"] != head):
                seq = length - 1 if isinstance(length, int) else "?"
                problems.append(f"the custody head its metadata names (seq {seq}) is not in its chain")
            if (metadata.get("clip") or {}).get("sha256") != clip["sha256"]:
                problems.append("its metadata names another sha256")
            filename = (metadata.get("clip") or {}).get("filename")
            if "filename" in recorded and not filename_left_out and filename != recorded["filename"]:
                problems.append(
                    f"its metadata names the file {filename!r}, its uploaded event {recorded['filename']!r}"
                )
        if problems:
            report.fail(item, "; ".join(problems))
        else:
            kept = f", original {original} matches" if original else " (original not included)"
            if "left_out" in uploaded:
                kept += " (that event's sources are left out: it is held by the chain's links, not recomputed)"
            if filename_left_out:
                kept += "; its file name is left out for this export, so it is not compared"
            report.ok(item, f"sha256 {clip['sha256']} is the one its uploaded event recorded{kept}")


def merkle_root(leaf: bytes, proof: list[dict[str, str]]) -> bytes:
    node = leaf
    for step in proof:
        sibling = bytes.fromhex(step["hash"])
        pair = sibling + node if step["side"] == "left" else node + sibling
        node = hashlib.sha256(b"\x01" + pair).digest()
    return node


def anchor_leaf(kind: str, chain_id: str, length: int, head_hash: str) -> bytes:
    return hashlib.sha256(b"\x00" + f"{kind}\n{chain_id}\n{length}\n{head_hash}".encode()).digest()


def openssl_verdict(token: Path, digest: str, certs: Path, ca_file: Path | None) -> str | None:
    """Why `openssl ts -verify` refuses the token for `digest`, or None when it accepts it."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return "openssl is not on the PATH, so the token cannot be checked"
    command = [openssl, "ts", "-verify", "-digest", digest, "-in", str(token), "-CAfile", str(ca_file or certs)]
    command += ["-untrusted", str(certs)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    if done.returncode == 0 and "Verification: OK" in done.stdout:
        return None
    said = (done.stdout + done.stderr).strip().splitlines()
    return "openssl ts -verify refused it: " + " / ".join(said[-3:])


def check_timestamps(
    bag: Path,
    index: dict[str, Any],
    chains: dict[tuple[str, str], list[dict[str, Any]]],
    ca_file: Path | None,
    report: Report,
) -> None:
    clips = {clip["clip_id"]: clip for clip in index["clips"]}
    described = sorted((bag / "data" / "timestamps").glob("*.json")) + sorted((bag / "timestamps").glob("*.json"))
    for description in described:
        name = description.relative_to(bag).as_posix()
        about = load_json(bag, name, report)
        if not isinstance(about, dict):
            continue
        token, certs = description.with_suffix(".tsr"), description.parent / str(about.get("tsa_certs", ""))
        digest, kind = str(about.get("digest", "")).lower(), about.get("kind")
        if not token.is_file() or not certs.is_file():
            report.fail(name, "its token (.tsr) or its TSA certificates are missing")
            continue
        problems = []
        if kind == "original":
            clip = clips.get(str(about.get("clip_id")))
            if clip is None or clip["sha256"] != digest:
                problems.append(f"it stamps {digest}, which is not the sha256 of clip {about.get('clip_id')}")
        elif kind == "manifest":
            actual = file_sha256(bag / "manifest-sha256.txt")
            if actual != digest:
                problems.append(f"it stamps {digest}, the payload manifest's sha256 is {actual}")
        elif kind == "anchor":
            for anchored in about.get("chains", []):
                chain_kind, chain_id = anchored["chain_kind"], anchored["chain_id"]
                length, head = int(anchored["length"]), anchored["head_hash"]
                leaf = anchor_leaf(chain_kind, chain_id, length, head)
                if merkle_root(leaf, anchored.get("proof", [])).hex() != digest:
                    problems.append(f"the inclusion proof of {chain_kind} chain {chain_id} does not lead to {digest}")
                    continue
                links = chains.get((chain_kind, chain_id))
                if links is None:
                    problems.append(f"the anchored {chain_kind} chain {chain_id} is not a verified chain of this bag")
                elif length < 1 or length > len(links) or links[length - 1]["hash"] != head:
                    problems.append(
                        f"the {chain_kind} chain {chain_id} was anchored with {length} links ending in {head}, "
                        f"but holds {len(links)} here without that head: links were removed or replaced"
                    )
        else:
            problems.append(f"unknown kind {kind!r}")
        report.tokens += 1
        refusal = openssl_verdict(token, digest, certs, ca_file)
        if refusal:
            problems.append(refusal)
        if problems:
            report.fail(name, "; ".join(problems))
        else:
            report.ok(name, f"{kind} token over {digest} verifies against {ca_file or certs.name}")


def verify(bag: Path, ca_file: Path | None = None) -> Report:
    report = Report()
    hashes: dict[str, str] = {}
    check_bag(bag, report, hashes)
    index = load_json(bag, "data/export.json", report)
    if isinstance(index, dict):
        chains = check_chains(bag, index, report)
        check_clips(bag, index, chains, hashes, report)
        check_timestamps(bag, index, chains, ca_file, report)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check a Verity evidence export (a BagIt bag) without Verity.")
    parser.add_argument(
        "bag",
        nargs="?",
        type=Path,
        default=Path(__file__).resolve().parent,
        help="the bag's folder, or its zip (default: the folder this file is in)",
    )
    parser.add_argument("--ca-file", type=Path, help="the TSA roots you trust (default: the certificates included)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="verity-bag-") as scratch:
        bag: Path = args.bag
        if bag.is_file() and zipfile.is_zipfile(bag):
            with zipfile.ZipFile(bag) as archive:
                archive.extractall(scratch)  # extractall keeps every name inside `scratch`
            tops = [path for path in Path(scratch).iterdir() if path.is_dir()]
            bag = tops[0] if len(tops) == 1 and not (Path(scratch) / "bagit.txt").exists() else Path(scratch)
        if not bag.is_dir():
            print(f"FAIL  {args.bag}: not a folder or a zip")
            return 1
        report = verify(bag, args.ca_file)
    if not report.tokens:
        print(
            "note: this bag carries no trusted timestamps (the archive had no time-stamping authority): when the "
            "originals were received and when the bag was made rest on the archive's own word"
        )
    elif args.ca_file is None:
        print(
            "note: the tokens were checked against the TSA certificates in the bag; to check whom they come from, "
            "give --ca-file with the TSA roots you trust"
        )
    if report.failed:
        failed = ", ".join(report.failed)
        print(f"verdict: FAILED: {len(report.failed)} of {report.checked} items do not verify: {failed}")
        return 1
    print(f"verdict: OK: all {report.checked} items verify")
    return 0


if __name__ == "__main__":
    sys.exit(main())
