"""`verity fixity`: check originals against what the archive holds of them, on the local archive
(the server's, when VERITY_DATA_DIR or VERITY_DATABASE_URL name the same) or through a server."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from api import cli_archive
from api.cli_output import err_console, fail, print_json, print_text
from api.cli_server import JsonOption, call
from verity.errors import VerityError

if TYPE_CHECKING:
    from ingest.fixity import ClipOutcome
    from storage.archive import Archive

ServerOption = Annotated[
    str | None,
    typer.Option(
        envvar="VERITY_SERVER", help="Ask this Verity server (analyst or admin key) instead of the local archive."
    ),
]
KeyOption = Annotated[str, typer.Option(envvar="VERITY_API_KEY", help="API key for --server.")]


def fixity(
    clip: Annotated[list[str] | None, typer.Option("--clip", help="Check this clip now (repeatable).")] = None,
    every: Annotated[
        bool, typer.Option("--all", help="Audit every clip now (resuming an audit a restart cut off); local only.")
    ] = False,
    as_json: JsonOption = False,
    server: ServerOption = None,
    key: KeyOption = "",
) -> None:
    """Re-read originals, recompute SHA-256 and size, run the chain check, and record each outcome in
    the clip's custody. Without --clip or --all: where the audits stand and which clips failed. Exits 1
    naming each clip that failed."""
    if clip and every:
        raise fail("give --clip or --all, not both")
    if server is not None:
        if every:
            raise fail(
                "a whole audit runs where the archive is (the server runs one on its schedule): run "
                "`verity fixity --all` without --server, with the archive's VERITY_* settings"
            )
        answer = _on_server(server, key, clip or [])
    else:
        answer = _on_archive(clip or [], every)
    if as_json:
        print_json(answer)
    failed = answer["failures"]
    if failed:
        named = ", ".join(f"{f['clip_id']} ({f['filename']}): {'; '.join(f['problems'])}" for f in failed)
        raise fail(f"{len(failed)} clip{'s' if len(failed) != 1 else ''} FAILED the fixity check: {named}")


def _on_server(server: str, key: str, clip_ids: list[str]) -> dict[str, Any]:
    if not clip_ids:
        report: dict[str, Any] = call("GET", server, key, "/api/v1/fixity")
        _print_report(report)
        return report
    checked = []
    for clip_id in clip_ids:
        outcome = call("POST", server, key, f"/api/v1/clips/{clip_id}/fixity")
        clip = call("GET", server, key, f"/api/v1/clips/{clip_id}")
        checked.append({"clip_id": clip_id, "filename": clip["filename"], "problems": outcome["problems"]})
    return _checked(checked)


def _on_archive(clip_ids: list[str], every: bool) -> dict[str, Any]:
    from ingest.fixity import check_clip

    archive = cli_archive.open_existing(cli_archive.load_settings())
    actor = cli_archive.local_actor()
    try:
        if clip_ids:
            outcomes = []
            for clip_id in clip_ids:
                outcomes.append(check_clip(archive, clip_id, actor))
            return _checked([_as_failure(o) for o in outcomes])
        if every:
            return _audit(archive, actor)
        return _report(archive)
    except VerityError as exc:
        raise fail(exc.detail) from None
    finally:
        archive.close()


def _audit(archive: Archive, actor: str) -> dict[str, Any]:
    def show(outcome: ClipOutcome) -> None:
        verdict = "FAILED: " + "; ".join(outcome.problems) if outcome.failed else "ok"
        err_console.print(f"{outcome.clip_id} {outcome.filename}: {verdict}", markup=False, highlight=False)

    from ingest.fixity import run_fixity_audit

    progress = run_fixity_audit(archive, actor, on_clip=show)
    if progress is None:
        raise fail("another fixity audit is running (the server's schedule, or another `verity fixity --all`)")
    print_text(
        f"audit {progress.run_id} finished: {len(progress.outcomes)} clips checked, {len(progress.failed)} failed"
    )
    return _checked([_as_failure(outcome) for outcome in progress.outcomes])


def _as_failure(outcome: ClipOutcome) -> dict[str, Any]:
    return {"clip_id": outcome.clip_id, "filename": outcome.filename, "problems": outcome.problems}


def _checked(outcomes: list[dict[str, Any]]) -> dict[str, Any]:
    for outcome in outcomes:
        print_text(f"{outcome['clip_id']}  {'FAILED' if outcome['problems'] else 'ok'}  {outcome['filename']}")
    return {"checked": outcomes, "failures": [o for o in outcomes if o["problems"]]}


def _report(archive: Archive) -> dict[str, Any]:
    from api.schemas import FixityReport
    from ingest.fixity import audit_status

    with archive.reads() as session:
        report = FixityReport.of(audit_status(session, archive.settings)).model_dump(mode="json")
    _print_report(report)
    return report


def _print_report(report: dict[str, Any]) -> None:
    last, running = report["last_run"], report["running"]
    if last:
        print_text(
            f"last audit: {last['started_at']} to {last['finished_at']}, {last['clips_checked']} clips checked, "
            f"{last['clips_failed']} failed"
        )
    else:
        print_text("last audit: none yet")
    if running:
        print_text(f"audit under way since {running['started_at']}: {running['clips_checked']} clips checked so far")
    print_text(f"next audit: {report['next_run_at']}")
    print_text(f"clips failing now: {report['failed']}")
