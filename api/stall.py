"""The stall limit on every request body: a client that sends nothing of its body for
`upload_stall_seconds` is answered 408 and its connection closed, whatever the route reads (a
form, a chunk, a file to verify, JSON). Without it a half-open connection holds its request, and
whatever the request holds, for good."""

from __future__ import annotations

import asyncio
import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from verity.errors import BodyStalled

CLOSE = (b"connection", b"close")


class StallLimit:
    """ASGI middleware: each wait for the next piece of a body may last `stall_s` seconds.

    The wait fails with `BodyStalled` inside the route, which drops what it half wrote (the
    upload readers, api/multipart.py) and answers 408 through the error map; where a framework
    layer turns that failure into another answer first (FastAPI reports a body it could not read
    as 400), the answer is replaced by the 408 here."""

    def __init__(self, app: ASGIApp, stall_s: float) -> None:
        self.app = app
        self.stall_s = stall_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        stall_s = self.stall_s
        body_done = False
        stalled: BodyStalled | None = None
        replacing = False

        async def receive_in_time() -> Message:
            nonlocal body_done, stalled
            if body_done:  # after the body, a wait is for the client to go away: not a stall
                return await receive()
            try:
                async with asyncio.timeout(stall_s):
                    message = await receive()
            except TimeoutError:
                stalled = BodyStalled(f"the client sent nothing of the body for {stall_s:g} s; none of it is kept")
                raise stalled from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        started = False

        async def answer_stalled(reason: BodyStalled) -> None:
            body = json.dumps({"error": reason.code, "detail": str(reason)}).encode()
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": 408, "headers": [*headers, CLOSE]})
            await send({"type": "http.response.body", "body": body})

        async def send_or_replace(message: Message) -> None:
            nonlocal replacing, started
            if message["type"] == "http.response.start":
                started = True
                if stalled is not None:
                    replacing = message["status"] != 408
                    if replacing:
                        await answer_stalled(stalled)
                        return
                    message = {**message, "headers": [*message.get("headers", []), CLOSE]}
            if not replacing:
                await send(message)

        try:
            await self.app(scope, receive_in_time, send_or_replace)
        except Exception:
            if stalled is None or started:
                raise
            await answer_stalled(stalled)
