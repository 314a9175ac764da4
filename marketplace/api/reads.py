"""Reads from the store, off the event loop and off the commit thread.

Reads run on a pool of their own (commits have a thread of their own in the sequencer,
logins one in the authenticator), and one participant may run only a few at a time, so
a participant looping over large pages queues behind itself while everyone else's
reads and orders go on."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class ReadPool:
    def __init__(self, threads: int = 4, per_participant: int = 2) -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="ixchange-read")
        self.per_participant = per_participant
        self._slots: dict[str, asyncio.Semaphore] = {}

    async def run(self, who: str, read: Callable[..., T], *args: Any) -> T:
        slots = self._slots.get(who)
        if slots is None:
            slots = self._slots[who] = asyncio.Semaphore(self.per_participant)
        async with slots:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._pool, functools.partial(read, *args))

    def close(self) -> None:
        self._pool.shutdown(wait=False)
