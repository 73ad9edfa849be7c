"""The API's threads, sized from settings. Blocking work never waits on the network on a thread
another request needs: request bodies are hashed, stored, recorded (and, for verify, analysed)
on a pool of their own, fed from the event loop (api/multipart.py), so neither a body waiting
for its client nor a long upload's archiving can starve the handlers or each other's small steps."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from anyio import to_thread

from verity.settings import Settings

T = TypeVar("T")


@dataclass(frozen=True)
class ThreadPools:
    bodies: ThreadPoolExecutor  # what uploads and verify do with their bodies: `upload_threads`
    work: ThreadPoolExecutor  # `asyncio.to_thread` (queueing analyses, sweeps): `work_threads`

    def shutdown(self) -> None:
        # The work pool is the loop's default executor: the loop shuts it down when it closes.
        self.bodies.shutdown(wait=False, cancel_futures=True)


def start_thread_pools(settings: Settings) -> ThreadPools:
    """Size the running loop's pools: FastAPI's threads for blocking handlers and dependencies
    (`request_threads`), the default executor behind `asyncio.to_thread` (`work_threads`), and a
    new pool for request bodies (`upload_threads`). Call from the app's lifespan."""
    to_thread.current_default_thread_limiter().total_tokens = settings.request_threads
    work = ThreadPoolExecutor(settings.work_threads, thread_name_prefix="verity-work")
    asyncio.get_running_loop().set_default_executor(work)
    return ThreadPools(ThreadPoolExecutor(settings.upload_threads, thread_name_prefix="verity-body"), work)


async def run_on(threads: Executor, work: Callable[..., T], *args: Any) -> T:
    """`work(*args)` on one of `threads`, awaited."""
    return await asyncio.get_running_loop().run_in_executor(threads, work, *args)
