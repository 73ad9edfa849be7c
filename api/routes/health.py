"""`GET /healthz`: is the archive able to serve, and are its originals intact, without auth."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api.deps import ArchiveDep
from api.schemas import Health
from storage.fixity import count_failed

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
    fixity = "ok"
    if database == "ok":
        with archive.reads() as session:
            failed = count_failed(session)
        if failed:
            fixity = f"{failed} clip{'s' if failed != 1 else ''} failed the fixity check"
    serving = database == object_store == "ok"
    ok = serving and fixity == "ok"
    body = Health(status="ok" if ok else "degraded", database=database, object_store=object_store, fixity=fixity)
    # Failed fixity is degraded but still 200: the archive serves, and must stay in service (load
    # balancers, container health checks) for the failure to be looked into.
    return JSONResponse(body.model_dump(), status_code=200 if serving else 503)
