"""How the workbench's pages are rendered: the templates (api/templates/, autoescaped), the
filters they share (times in UTC with the zone said, sizes, durations), and `page`, which gives
every template the visitor and its CSRF token."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
STATIC = TEMPLATES.parent / "static"
templates = Jinja2Templates(directory=TEMPLATES)


def in_utc(moment: datetime | str | None) -> str:
    """`2026-12-01 18:20:05 UTC`: every time on a page is in UTC and says so."""
    if moment is None:
        return "—"
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def size(count: int | None) -> str:
    if count is None:
        return "—"
    amount = float(count)
    for unit in ("bytes", "KB", "MB", "GB"):
        if amount < 1000 or unit == "GB":
            return f"{int(amount)} {unit}" if unit == "bytes" else f"{amount:.1f} {unit}"
        amount /= 1000
    return f"{amount:.1f} TB"  # pragma: no cover - the loop returns


def duration(seconds: float | None) -> str:
    """`1:02.5` (minutes:seconds), `1:02:03.0` past an hour."""
    if seconds is None:
        return "—"
    minutes, rest = divmod(float(seconds), 60)
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours}:{minutes:02d}:{rest:04.1f}" if hours else f"{minutes}:{rest:04.1f}"


def compact_json(value: Any) -> str:
    """A record's details as JSON, its text as written (any script), not as escapes."""
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


templates.env.filters.update(utc=in_utc, size=size, duration=duration, compact_json=compact_json)


def page(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    """Template `name` with `context`; the visitor (if signed in) and its CSRF token come along
    from `request.state` (api/web/visitor.py puts them there)."""
    visitor = getattr(request.state, "visitor", None)
    shown = {"visitor": visitor, "csrf": visitor.csrf if visitor else None, **context}
    return templates.TemplateResponse(request, name, shown, status_code=status_code)


HEADINGS = {401: "Sign in needed", 403: "Not allowed", 404: "Not found", 409: "Conflict", 422: "Not understood"}


def error_page(request: Request, status_code: int, detail: str, headers: dict[str, str] | None = None) -> HTMLResponse:
    heading = HEADINGS.get(status_code, "Something went wrong" if status_code >= 500 else "Not done")
    context = {"status": status_code, "heading": heading, "detail": detail}
    answer = page(request, "error.html", context, status_code)
    answer.headers.update(headers or {})
    return answer


def is_page(request: Request) -> bool:
    """Whether the request is for one of the workbench's pages (answered in HTML), not the API."""
    return not request.url.path.startswith(("/api/", "/static/", "/openapi.json", "/healthz"))
