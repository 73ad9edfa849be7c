"""The tus 1.0 resumable upload protocol (https://tus.io/protocols/resumable-upload) as
/api/v1/uploads speaks it: which requests are tus (those that carry `Tus-Resumable`), the
headers every tus answer carries. The header formats are api/tus_headers.py's; the uploads
themselves are ingest/resumable.py's, for tus and JSON clients alike."""

from __future__ import annotations

from fastapi.routing import APIRoute
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse
from starlette.routing import Match
from starlette.types import Message, Receive, Scope, Send

from api.tus_headers import TUS_VERSION


def asks_tus(scope: Scope) -> bool:
    return "tus-resumable" in Headers(scope=scope)


class TusAware(APIRoute):
    """An uploads route: a request that carries `Tus-Resumable` is answered the tus way (the
    header on every answer, errors too; 412 with `Tus-Version` for a version other than 1.0.0);
    one without it as before."""

    always_tus = False  # the route exists only for tus (HEAD, OPTIONS): every answer is tus

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        version = Headers(scope=scope).get("tus-resumable")
        if version is None and not self.always_tus:
            await super().handle(scope, receive, send)
            return
        if version is not None and version != TUS_VERSION and scope["method"] != "OPTIONS":
            detail = f"this server speaks tus {TUS_VERSION}, not {version[:40]!r}"
            headers = {"Tus-Resumable": TUS_VERSION, "Tus-Version": TUS_VERSION}
            await JSONResponse({"error": "tus_version_unsupported", "detail": detail}, 412, headers)(
                scope, receive, send
            )
            return

        async def send_tus(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["Tus-Resumable"] = TUS_VERSION
            await send(message)

        await super().handle(scope, receive, send_tus)


class TusOnly(TusAware):
    """A tus request's own handler at a path and method a JSON client also uses: only requests
    that carry `Tus-Resumable` match it (it is listed before the JSON route, which takes the rest)."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        if match is not Match.NONE and not asks_tus(scope):
            return Match.NONE, {}
        return match, child


class TusNative(TusAware):
    always_tus = True
