"""The API's threads, sized from settings. Blocking work never waits on the network on a thread
another request needs: request bodies are hashed and stored on a pool of their own, fed from the
event loop (api/multipart.py), so a body waiting for its client cannot starve the handlers."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from anyio import to_thread

from verity.settings import Settings


@dataclass(frozen=True)
class ThreadPools:
    bodies: ThreadPoolExecutor  # consumers of request bodies: `upload_threads`
    work: ThreadPoolExecutor  # `asyncio.to_thread` (recording uploads, verify analyses, sweeps): `work_threads`

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
