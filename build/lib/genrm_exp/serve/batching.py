"""Dynamic batching: concurrent requests gathered into one judge call.

    batcher = Batcher(rm.judge_pairs_items, batch_size=8, max_wait_s=0.02, queue_limit=512, executor=pool)
    results = await batcher.submit(items)      # raises Overloaded at once when the queue is full

A call starts when `batch_size` items wait or `max_wait_s` after the oldest waiting request came,
whichever is first; whole requests are taken in arrival order (one larger than batch_size goes
alone). Calls run one at a time on the executor (one worker thread: the model is not shared), so
the event loop keeps accepting, validating and refusing requests while the model works.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field


class Overloaded(Exception):
    """The queue holds queue_limit items: the request is refused rather than left to wait."""


@dataclass
class _Job:
    items: Sequence
    future: asyncio.Future
    arrived: float = field(default_factory=time.monotonic)


class Batcher:
    def __init__(
        self, fn: Callable[[list], list], *, batch_size: int, max_wait_s: float, queue_limit: int, executor: Executor
    ):
        if batch_size < 1 or queue_limit < 1 or max_wait_s < 0:
            raise ValueError(
                f"batch_size={batch_size}, queue_limit={queue_limit}, max_wait_s={max_wait_s}: "
                "expected batch_size >= 1, queue_limit >= 1, max_wait_s >= 0"
            )
        self.fn, self.batch_size, self.max_wait_s, self.queue_limit = fn, batch_size, max_wait_s, queue_limit
        self.executor = executor
        self._queue: deque[_Job] = deque()
        self._pending = 0  # items queued or being judged
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self.batch_sizes: Counter[int] = Counter()
        self.rejected = 0
        self._call_s = 0.0  # the last call's duration

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def stats(self) -> dict:
        return {
            "calls": sum(self.batch_sizes.values()),
            "items": sum(n * c for n, c in self.batch_sizes.items()),
            "batch_sizes": {str(n): c for n, c in sorted(self.batch_sizes.items())},
            "rejected": self.rejected,
            "pending": self._pending,
        }

    def drain_s(self) -> float:
        """About how long the items now pending take to judge (calls of batch_size at the last
        call's pace): what a refused client is told to wait (Retry-After)."""
        return -(-self._pending // self.batch_size) * self._call_s

    async def submit(self, items: Sequence) -> list:
        if self._pending + len(items) > self.queue_limit:
            self.rejected += 1
            raise Overloaded(f"queue full: {self._pending} items waiting or being judged, limit {self.queue_limit}")
        job = _Job(items, asyncio.get_running_loop().create_future())
        self._queue.append(job)
        self._pending += len(items)
        self._wake.set()
        try:
            return await job.future
        except asyncio.CancelledError:  # timed out or went away: release its items if not started
            if job in self._queue:
                self._queue.remove(job)
                self._pending -= len(job.items)
            raise

    def _waiting(self) -> int:
        return sum(len(j.items) for j in self._queue if not j.future.done())

    async def _run(self) -> None:
        while True:
            while not self._queue:
                self._wake.clear()
                await self._wake.wait()
            deadline = self._queue[0].arrived + self.max_wait_s
            while self._waiting() < self.batch_size and (left := deadline - time.monotonic()) > 0:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), left)
                except asyncio.TimeoutError:
                    break
            jobs = self._take()
            if jobs:
                await self._call(jobs)

    def _take(self) -> list[_Job]:
        """Whole jobs in arrival order up to batch_size items (at least one job); jobs whose
        requests timed out or went away are dropped and their items released."""
        jobs, n = [], 0
        while self._queue:
            job = self._queue[0]
            if job.future.done():
                self._queue.popleft()
                self._pending -= len(job.items)
                continue
            if jobs and n + len(job.items) > self.batch_size:
                break
            jobs.append(self._queue.popleft())
            n += len(job.items)
        return jobs

    async def _call(self, jobs: list[_Job]) -> None:
        items = [it for j in jobs for it in j.items]
        start = time.monotonic()
        try:
            results = await asyncio.get_running_loop().run_in_executor(self.executor, self.fn, items)
            self._call_s = time.monotonic() - start
            if len(results) != len(items):
                raise RuntimeError(f"the judge returned {len(results)} results for {len(items)} items")
        except Exception as err:  # every request of the call gets the error; the server keeps running
            for j in jobs:
                if not j.future.done():
                    j.future.set_exception(err)
        else:
            self.batch_sizes[len(items)] += 1
            start = 0
            for j in jobs:
                if not j.future.done():
                    j.future.set_result(results[start : start + len(j.items)])
                start += len(j.items)
        finally:
            self._pending -= len(items)
