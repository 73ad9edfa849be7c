"""The gate in front of every route that takes a JSON body, and in front of every POST of the
workbench's pages: the caller must pass the route's key check (api/auth.py `Gate`; for a page,
api/web/visitor.py `signed_in`), and the body must say it is JSON (a page's: a urlencoded form,
never multipart: no page takes a file) and fit the `max_json_body_bytes` setting, or it is
refused (401/403, 415, 413) before anything parses it. A body that declares no length is read
only up to the limit. FastAPI decodes a JSON
body before it solves the route's dependencies, so without this a caller with no key would be
told about its body instead of being refused.

FastAPI reads such a body whole into memory before validating it, so without a bound one request
could hold hundreds of megabytes. Routes that stream their body themselves (uploads, chunks,
provenance queries) declare no body parameter and pass untouched: they have their own limits."""

from __future__ import annotations

from typing import TypeGuard

import anyio.to_thread
from fastapi import params
from fastapi.routing import APIRoute
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import Gate
from api.browser_session import SAFE_METHODS, own_origin
from api.web.render import is_page
from api.web.visitor import FORM_TYPE, is_form, page_visitor, refuse_cross_site, signed_in


def takes_json(route: object) -> TypeGuard[APIRoute]:
    """Whether the route reads a JSON body (the workbench's form routes read forms)."""
    return takes_body(route) and not isinstance(route.body_field.field_info, params.Form)  # type: ignore[union-attr]


def takes_body(route: object) -> TypeGuard[APIRoute]:
    """Whether FastAPI reads the route's body whole: JSON, or a workbench form."""
    return isinstance(route, APIRoute) and route.body_field is not None


def is_page_post(route: object, request: Request) -> TypeGuard[APIRoute]:
    """Whether the request changes something through one of the workbench's pages."""
    return isinstance(route, APIRoute) and request.method not in SAFE_METHODS and is_page(request)


def is_json(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))


class JsonBodyGate:
    """ASGI middleware: checks a JSON route's body as the route reads it. The route is known only
    once routing is done (`scope["route"]`), which is before anything reads the body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.app(scope, _BodyCheck(scope, receive).receive, send)


class _BodyCheck:
    def __init__(self, scope: Scope, receive: Receive) -> None:
        self.scope, self.inner = scope, receive
        self.limit: int | None = None  # set once the route is known to take JSON
        self.content_type: str | None = None
        self.decided = False
        self.received = 0

    async def receive(self) -> Message:
        if not self.decided:
            self.decided = True
            await self._check_caller()
            self._start()
        message = await self.inner()
        if self.limit is None or message["type"] != "http.request":
            return message
        body = message.get("body", b"")
        self.received += len(body)
        if self.received > self.limit:
            raise HTTPException(413, _too_large(self.limit))
        if body and self.content_type is None:
            raise HTTPException(415, _not_json(None))
        return message

    async def _check_caller(self) -> None:
        route = self.scope.get("route")
        archive = self.scope["app"].state.archive
        request = Request(self.scope)
        if is_page_post(route, request):
            if any(dependency.call is page_visitor for dependency in route.dependant.dependencies):
                await anyio.to_thread.run_sync(
                    signed_in, archive, request.method, request.headers, request.cookies, request.url
                )
            else:  # the sign-in form: nobody to know yet, but it too must come from this server's page
                refuse_cross_site(request.method, request.headers, own_origin(request.url))
            return
        if not takes_json(route):
            return
        gates = [dependency.call for dependency in route.dependant.dependencies if isinstance(dependency.call, Gate)]
        for gate in gates:
            await anyio.to_thread.run_sync(gate.check_headers, archive, request)

    def _start(self) -> None:
        route = self.scope.get("route")
        page_post = is_page_post(route, Request(self.scope))
        if not page_post and not takes_body(route):
            return  # a route that streams its body, or takes none
        limit: int = self.scope["app"].state.archive.settings.max_json_body_bytes
        headers = Headers(scope=self.scope)
        self.content_type = headers.get("content-type")
        if page_post:
            if self.content_type is not None and not is_form(self.content_type):
                raise HTTPException(415, _not_a_page_form(self.content_type))
            self.content_type = FORM_TYPE
        elif not takes_json(route):
            self.content_type = self.content_type or "form"  # a form's own parser judges its type
        elif self.content_type is not None and not is_json(self.content_type):
            raise HTTPException(415, _not_json(self.content_type))
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise HTTPException(413, _too_large(limit))
        self.limit = limit


def _not_json(content_type: str | None) -> str:
    said = f"it says {content_type[:100]}" if content_type else "it has no Content-Type"
    return f"send the body as JSON with Content-Type: application/json ({said})"


def _not_a_page_form(content_type: str) -> str:
    return (
        f"the workbench's forms are sent as {FORM_TYPE} (it says {content_type[:100]}); "
        "files are handed in on the upload page"
    )


def _too_large(limit: int) -> str:
    return f"the body is larger than the limit of {limit} bytes"
