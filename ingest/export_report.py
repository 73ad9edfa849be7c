"""REPORT.html of an evidence export: what a person reads first. One self-contained page (styles
inline, thumbnails as data: URIs, no script, nothing fetched): the export, the case, its incidents,
then each clip with its thumbnail, hashes, custody summary and review status. Written clip by clip,
so a large export never holds the page whole."""

from __future__ import annotations

import base64
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:60em;color:#222;padding:0 1em}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:.25em .5em;text-align:left;
vertical-align:top}th{background:#f4f4f4}code{font-size:.85em;word-break:break-all}
.clip{display:flex;gap:1em;border:1px solid #ddd;padding:1em;margin:1em 0;break-inside:avoid}
.clip img{max-width:240px;height:auto;align-self:flex-start;border:1px solid #ccc}
.none{color:#888}.bad{color:#b00;font-weight:bold}
"""


NOT_INCLUDED = '<span class="none">not included</span>'


@dataclass
class ClipSummary:
    """What the report shows of one clip."""

    record: dict[str, Any]  # the clip's JSON in the bag (ingest/export_records.py clip_record)
    thumbnail: bytes | None
    first_event: dict[str, Any] | None
    last_event: dict[str, Any] | None
    actions: dict[str, int] = field(default_factory=dict)


def _e(value: Any) -> str:
    return escape("" if value is None else str(value))


def _rows(pairs: Sequence[tuple[str, Any]]) -> str:
    return "".join(f"<tr><th>{_e(label)}</th><td>{value}</td></tr>" for label, value in pairs)


def _segment(link: dict[str, Any]) -> str:
    if link["start_s"] is None and link["end_s"] is None:
        return "whole clip"
    end = link["end_s"] if link["end_s"] is not None else "end"
    return f"{link['start_s'] or 0}–{end} s"


def _head(export: dict[str, Any]) -> str:
    title = export["title"]
    return (
        f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>{_e(title)}</title>"
        f"<style>{STYLE}</style></head><body><h1>{_e(title)}</h1>"
        "<table>"
        + _rows(
            [
                ("Export", f"<code>{_e(export['export_id'])}</code>"),
                ("Exported by", _e(export["exported_by"])),
                ("Exported at (UTC)", _e(export["exported_at"])),
                ("Covers", _e(export["covers"])),
                ("Clips", _e(export["clip_count"])),
                ("Verity", _e(export["verity_version"])),
            ]
        )
        + "</table><p>Every file of this bag is listed with its SHA-256 in <code>manifest-sha256.txt</code> "
        "(this page and <code>verify.py</code> in <code>tagmanifest-sha256.txt</code>). To check the bag without "
        "Verity: <code>python3 verify.py</code> in this folder (Python 3 and, for timestamps, openssl). It checks "
        "every file, every custody and history chain, each original against the hash its upload recorded, and "
        "every timestamp token, and prints a verdict per item.</p>"
    )


def _case(case: dict[str, Any]) -> str:
    record = case["case"]
    return (
        "<h2>Case</h2><table>"
        + _rows(
            [
                ("Title", _e(record["title"])),
                ("Description", _e(record["description"]) or '<span class="none">none</span>'),
                ("Status", _e(record["status"])),
                ("Id", f"<code>{_e(record['id'])}</code>"),
                ("Created", f"{_e(record['created_at'])} by {_e(record['created_by'])}"),
                ("History", f"<code>{_e(case['history'])}</code>"),
            ]
        )
        + "</table>"
    )


def _incident(incident: dict[str, Any], names: dict[str, str]) -> str:
    record = incident["incident"]
    when = _e(record["starts_at"]) + (f" – {_e(record['ends_at'])}" if record.get("ends_at") else "")
    place = _e(record.get("place_name")) or '<span class="none">not given</span>'
    if record.get("lat") is not None:
        radius = f", ±{record['radius_m']} m" if record.get("radius_m") else ""
        place += f" ({record['lat']}, {record['lon']}{radius})"
    live = [link for link in incident["links"] if link["unlinked_at"] is None]
    links = "".join(
        f"<li>{_e(names.get(link['clip_id'], 'a clip not in this export'))} <code>{_e(link['clip_id'])}</code>: "
        f"{_e(_segment(link))}" + (f" — {_e(link['note'])}" if link["note"] else "") + "</li>"
        for link in live
    )
    return (
        f"<h3>{_e(record['title'])}</h3><table>"
        + _rows(
            [
                ("Id", f"<code>{_e(record['id'])}</code>"),
                ("When", f"{when} (precision: {_e(record['time_precision'])})"),
                ("Where", place),
                ("Tags", _e(", ".join(record.get("tags") or [])) or '<span class="none">none</span>'),
                ("Description", _e(record.get("description")) or '<span class="none">none</span>'),
                ("Clips linked", f"<ul>{links}</ul>" if links else '<span class="none">none</span>'),
                ("History", f"<code>{_e(incident['history'])}</code>"),
            ]
        )
        + "</table>"
    )


def _clip(summary: ClipSummary) -> str:
    record, clip = summary.record, summary.record["clip"]
    if summary.thumbnail:
        inline = base64.b64encode(summary.thumbnail).decode()
        picture = f'<img alt="first keyframe" src="data:image/jpeg;base64,{inline}">'
    else:
        picture = '<div class="none">no thumbnail</div>'
    custody = record["custody"]
    verified = "verifies" if custody["verified_in_verity"] else '<span class="bad">does NOT verify in Verity</span>'
    actions = ", ".join(f"{_e(action)} ×{count}" for action, count in sorted(summary.actions.items()))
    last_review = record["verification_history"][-1] if record["verification_history"] else None
    review = _e(clip["verification_status"])
    if last_review:
        said = f"{_e(last_review['reviewer'])}, {_e(last_review['changed_at'])}"
        review += f" — “{_e(last_review['rationale'])}” ({said})"
    acquisitions = "".join(
        f"<li>{_e(a['received_at'])} by {_e(a['received_by'])}: {_e(a['filename'])}"
        + (f", source {_e(a['source'])}" if a["source"] else "")
        + "</li>"
        for a in record["acquisitions"]
    )
    links = "".join(
        f"<li>{_e(link['incident_title'])}: {_e(_segment(link))}</li>"
        for link in record["incident_links"]
        if link["unlinked_at"] is None
    )
    first, last = summary.first_event, summary.last_event
    span = ""
    if first and last:
        span = f"{_e(first['occurred_at'])} ({_e(first['action'])}) to {_e(last['occurred_at'])} ({_e(last['action'])})"
    original = record["files"].get("original")
    return (
        f'<div class="clip">{picture}<div><h3>{_e(clip["filename"])}</h3><table>'
        + _rows(
            [
                ("Clip", f"<code>{_e(clip['id'])}</code>"),
                ("SHA-256", f"<code>{_e(clip['sha256'])}</code>"),
                ("Size", f"{clip['size_bytes']:,} bytes"),
                ("Original in bag", f"<code>{_e(original)}</code>" if original else NOT_INCLUDED),
                ("Recorded (file)", _e(clip.get("recorded_at")) or '<span class="none">not stated</span>'),
                ("Received", _e(clip["created_at"])),
                ("Acquisitions", f"<ul>{acquisitions}</ul>"),
                ("Review", review),
                ("Incidents", f"<ul>{links}</ul>" if links else '<span class="none">none</span>'),
                ("Custody", f"{custody['length']} events, {span}; chain {verified}<br>{actions}"),
                ("Custody head", f"<code>{_e(custody['head_hash'])}</code>"),
                ("Near-duplicates", _e(len(record["near_duplicates"]))),
            ]
        )
        + "</table></div></div>"
    )


def render_report(
    export: dict[str, Any],
    cases: Sequence[dict[str, Any]],
    incidents: Sequence[dict[str, Any]],
    clips: Sequence[ClipSummary],
) -> Iterator[bytes]:
    """The page in pieces. `export` has export_id, title, exported_by, exported_at, covers,
    clip_count and verity_version."""
    yield _head(export).encode()
    for case in cases:
        yield _case(case).encode()
    if incidents:
        yield b"<h2>Incidents</h2>"
        names = {summary.record["clip"]["id"]: summary.record["clip"]["filename"] for summary in clips}
        for incident in incidents:
            yield _incident(incident, names).encode()
    yield f"<h2>Clips ({len(clips)})</h2>".encode()
    for summary in clips:
        yield _clip(summary).encode()
    yield b"</body></html>\n"
