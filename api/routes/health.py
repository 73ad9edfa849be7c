"""`GET /healthz`: is the archive able to serve, without auth."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api.deps import ArchiveDep
from api.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, responses={503: {"model": Health}})
def healthz(archive: ArchiveDep) -> JSONResponse:
    database = object_store = "ok"
    try:
        with archive.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        database = f"error: {type(exc).__name__}"
    try:
        archive.blobs.exists("healthz/probe")
    except Exception as exc:
        object_store = f"error: {type(exc).__name__}"
    ok = database == object_store == "ok"
    body = Health(status="ok" if ok else "degraded", database=database, object_store=object_store)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)
