"""The API reference at /docs: Swagger UI from the vendored bundle (api/static/vendor/), started by
a script file of ours, so it works offline and under the workbench's Content-Security-Policy."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.web.render import templates

router = APIRouter(include_in_schema=False)


@router.get("/docs", response_class=HTMLResponse)
def api_reference(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "api_docs.html", {})
