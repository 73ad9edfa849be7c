"""Streaming `multipart/form-data` reader for uploads (and the raw-body reader for resumable chunks).

Starlette's form parser spools a file part to a temporary file before the route sees it; for
multi-GB evidence that is a second full copy. Here the file part's bytes are handed, as they
arrive, to a consumer running in a thread of the body pool (which hashes and stores them), with a
small bounded queue between the two so memory stays flat whatever the file size.
"""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import queue
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from verity.errors import BodyTooLarge, InvalidInput, VerityError

T = TypeVar("T")

BATCH_BYTES = 1024 * 1024
# The default for a text field's bytes; routes pass the `max_form_field_bytes` setting.
MAX_FIELD_BYTES = 64 * 1024
# Room for the multipart envelope around the file when checking Content-Length up front.
FORM_OVERHEAD_BYTES = 1024 * 1024
_END = object()


class _Abandoned(Exception):
    """The consumer stopped reading (it failed); the producer must stop too."""


class _ChunkChannel:
    """A bounded hand-over of byte batches from the event loop, which receives them, to the
    consumer's thread. The producer waits for room on the loop, never on a thread: a producer
    holding a pool thread while its consumer held another deadlocked the server once a few
    uploads had taken every thread."""

    def __init__(self, depth: int = 4) -> None:
        self._loop = asyncio.get_running_loop()
        self._items: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._room = asyncio.Semaphore(depth)
        self.abandoned = False

    async def put(self, item: object) -> None:
        """Hand `item` over once there is room; `_Abandoned` when the consumer has stopped."""
        if self.abandoned:
            raise _Abandoned
        await self._room.acquire()
        if self.abandoned:
            raise _Abandoned
        self._items.put(item)

    def fail(self, exc: Exception) -> None:
        """Make the consumer raise `exc` at its next read, dropping batches it has not taken."""
        while True:
            try:
                self._items.get_nowait()
            except queue.Empty:
                break
        self._items.put(exc)

    def consumer_finished(self) -> None:
        """The consumer returned or failed, perhaps without reading to the end: stop the producer."""
        self.abandoned = True
        self._room.release()

    def _make_room(self) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody is waiting any more
            self._loop.call_soon_threadsafe(self._room.release)

    def __iter__(self) -> Iterator[bytes]:
        try:
            while True:
                item = self._items.get()
                self._make_room()
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise item
                assert isinstance(item, bytes | bytearray)
                yield cast(bytes, item)  # a bytearray serves every consumer as bytes would
        finally:
            self.abandoned = True
            self._make_room()  # wake a producer waiting for room, to see that nobody reads


def _start_consumer(
    threads: Executor, consume: Callable[[Iterator[bytes]], T], channel: _ChunkChannel
) -> asyncio.Future[T]:
    """Run `consume` on `threads`: a pool of its own, apart from the one blocking handlers use, so a
    body waiting for its client never takes a thread another request needs to finish."""
    consumer = asyncio.get_running_loop().run_in_executor(threads, consume, iter(channel))
    consumer.add_done_callback(lambda _: channel.consumer_finished())
    return consumer


@dataclass
class UploadForm(Generic[T]):
    """The text fields of the form and what the consumer made of the file part."""

    fields: dict[str, str]
    filename: str
    content_type: str | None
    file_result: T


@dataclass
class _PartState:
    headers: dict[bytes, bytes] = field(default_factory=dict)
    header_field: bytearray = field(default_factory=bytearray)
    header_value: bytearray = field(default_factory=bytearray)
    name: str = ""
    filename: str | None = None
    content_type: str | None = None
    value: bytearray = field(default_factory=bytearray)


async def read_upload_form(
    request: Request,
    file_field: str,
    consume: Callable[[Iterator[bytes]], T],
    *,
    threads: Executor,
    text_fields: Collection[str] = (),
    max_field_bytes: int = MAX_FIELD_BYTES,
) -> UploadForm[T]:
    """Parse the request body, feeding the single file part named `file_field` to `consume`
    (run on one of `threads`, given an iterator of byte batches). Raises `InvalidInput` when the
    body is not a form with exactly one such file, or has a text part not named in `text_fields`,
    or one of them twice, or one that is not UTF-8; `BodyTooLarge` for a text part over
    `max_field_bytes`. So a form holds at most one part per known name, each of bounded size."""
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise InvalidInput("send the upload as multipart/form-data with a `file` part")

    fields: dict[str, str] = {}
    part = _PartState()
    pending = bytearray()
    channel: _ChunkChannel | None = None
    consumer: asyncio.Future[T] | None = None
    file_meta: tuple[str, str | None] | None = None
    errors: list[VerityError] = []
    finished: list[bool] = []

    def on_part_begin() -> None:
        nonlocal part
        part = _PartState()

    def on_header_field(data: bytes, start: int, end: int) -> None:
        part.header_field += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        part.header_value += data[start:end]

    def on_header_end() -> None:
        part.headers[bytes(part.header_field).lower()] = bytes(part.header_value)
        part.header_field.clear()
        part.header_value.clear()

    def on_headers_finished() -> None:
        nonlocal channel, consumer, file_meta
        _, disposition = parse_options_header(part.headers.get(b"content-disposition", b""))
        part.name = disposition.get(b"name", b"").decode("utf-8", "replace")
        raw_filename = disposition.get(b"filename")
        if raw_filename is None:
            problem = _text_field_problem(part.name, text_fields, fields, file_field)
            if problem:
                errors.append(InvalidInput(problem))
            return
        part.filename = raw_filename.decode("utf-8", "replace")
        if part.name != file_field:
            errors.append(InvalidInput(f"unexpected file part {part.name!r}; send the footage as `{file_field}`"))
        elif channel is not None:
            errors.append(InvalidInput(f"send exactly one `{file_field}` part"))
        else:
            type_header = part.headers.get(b"content-type")
            file_meta = (upload_filename(part.filename), type_header.decode("latin-1") if type_header else None)
            channel = _ChunkChannel()
            consumer = _start_consumer(threads, consume, channel)

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if part.filename is not None:
            if part.name == file_field and not errors:
                pending.extend(data[start:end])
            return
        if errors:
            return
        if len(part.value) + (end - start) > max_field_bytes:
            errors.append(BodyTooLarge(f"form field {part.name!r} is longer than {max_field_bytes} bytes"))
            return
        part.value += data[start:end]

    def on_part_end() -> None:
        if part.filename is None and not errors:
            try:
                fields[part.name] = part.value.decode("utf-8")
            except UnicodeDecodeError:
                errors.append(InvalidInput(f"form field {part.name!r} is not valid UTF-8 text"))

    def on_end() -> None:
        finished.append(True)

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
            "on_end": on_end,
        },
    )

    async def flush(force: bool) -> None:
        nonlocal pending
        if channel is not None and pending and (force or len(pending) >= BATCH_BYTES):
            # Hand the buffer over rather than copying it: a copy per MiB showed up in profiles.
            batch, pending = pending, bytearray()
            await channel.put(batch)

    try:
        try:
            async for chunk in request.stream():
                parser.write(chunk)
                if errors:
                    raise errors[0]
                await flush(False)
            parser.finalize()
            if not finished:
                raise InvalidInput("the upload ended before the form was complete (no closing boundary)")
            await flush(True)
        except _Abandoned:
            pass  # the consumer failed; its exception is the one to report
        except BaseException as exc:
            if channel is not None and not channel.abandoned:
                channel.fail(exc if isinstance(exc, Exception) else InvalidInput("upload interrupted"))
            if consumer is not None:
                # Let the consumer clean up its half-written object before we answer.
                await asyncio.gather(consumer, return_exceptions=True)
            raise
        if channel is None or consumer is None or file_meta is None:
            raise InvalidInput(f"the form has no `{file_field}` file part")
        if not channel.abandoned:
            with contextlib.suppress(_Abandoned):  # the consumer finished or failed: its result says which
                await channel.put(_END)
        result = await consumer
    except Exception as exc:
        if isinstance(exc, ValueError) and not isinstance(exc, InvalidInput):
            raise InvalidInput(f"malformed multipart body: {exc}") from exc
        raise
    return UploadForm(fields, file_meta[0], file_meta[1], result)


def _text_field_problem(name: str, known: Collection[str], seen: dict[str, str], file_field: str) -> str | None:
    """Why a text part named `name` cannot be taken, if it cannot: a name the form does not have
    (a typo must not silently lose what it carried), or one given twice."""
    if name in seen:
        return f"form field {name!r} is given twice; send it once"
    if name in known:
        return None
    if not known:
        return f"unknown form field {name!r}: this form takes only the `{file_field}` part"
    guess = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean {guess[0]}?)" if guess else ""
    return f"unknown form field {name!r}{hint}; the fields are {', '.join(known)}"


async def read_body(request: Request, consume: Callable[[Iterator[bytes]], T], *, threads: Executor) -> T:
    """Feed the raw request body to `consume` (run on one of `threads`) as it arrives, through the
    same bounded hand-over as a form's file part. If the body is cut short (the client went away,
    or stalled: api/stall.py), `consume` sees the error at its next read, so it can drop what it
    half wrote, and it is re-raised."""
    channel = _ChunkChannel()
    consumer = _start_consumer(threads, consume, channel)
    pending = bytearray()
    try:
        async for chunk in request.stream():
            pending += chunk
            if len(pending) >= BATCH_BYTES:
                batch, pending = pending, bytearray()
                await channel.put(batch)
        if pending:
            await channel.put(pending)
        await channel.put(_END)
    except _Abandoned:
        pass  # the consumer failed; its exception is the one to report
    except BaseException as exc:
        if not channel.abandoned:
            channel.fail(exc if isinstance(exc, Exception) else InvalidInput("upload interrupted"))
        await asyncio.gather(consumer, return_exceptions=True)
        raise
    return await consumer


def form_doc(file_description: str, example: dict[str, str], **fields: dict[str, Any]) -> dict[str, Any]:
    """OpenAPI request body for a route that reads its form with `read_upload_form`."""
    properties = {"file": {"type": "string", "format": "binary", "description": file_description}, **fields}
    schema = {"type": "object", "required": ["file"], "properties": properties}
    form = {"schema": schema, "example": example}
    return {"requestBody": {"required": True, "content": {"multipart/form-data": form}}}


def upload_filename(filename: str) -> str:
    """The name a client gave its file, without any folders, cut to what the database keeps."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name[:1024] or "upload"
