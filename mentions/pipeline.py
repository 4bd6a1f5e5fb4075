"""Fetch-ahead: produce the next items in a background thread while the caller consumes this one.

A poll is a loop of "fetch a page from X, prepare it (parse, score, plan the SLA clocks, build the
statement's arrays), store it with the checkpoint". Fetching and preparing need no database; storing is
mostly the database's work, during which the Python thread waits with the GIL released. `FetchAhead`
runs the first two steps for page k+1 in a thread while the caller stores page k, so the network, the
Python work and the database overlap (on two cores, the database and Python each keep one busy).

What it guarantees, so that crash safety stays the poller's business alone:
- Items reach the consumer in order; at most `depth` finished items wait (plus one in the making), so
  memory stays flat.
- The producer writes nothing the stream's cursor depends on: a crash loses at most pages that were
  fetched and not yet stored, which the stream's checkpoint makes the next poll fetch again. (The
  poller's producer does upsert each page's authors, ingest.store_authors: profiles, harmless when
  stored without their mentions.)
- An exception in the producer reaches the consumer after the items produced before it, exactly where
  a sequential loop would have raised it.
- When the consumer stops early (an exception, a `break`, `close()`), the producer is told to stop and
  the thread is joined; it never outlives the `with` block by more than the item it is producing.
- Django connections are per thread: a producer that uses the database has its own connection, which
  sees neither the consumer's open transaction nor, in tests, the test's; the thread closes any
  connection it opened when it ends.
- `paced=True` (the poller): the producer makes the next item only when the consumer asks for it
  (`go()` just before its long database call, or `next()` finding nothing ready), so the two threads
  take turns with the GIL instead of competing for it.

The GIL: the consumer spends its time in database calls, which release the GIL, and the producer in
Python, which holds it. When the database answers, the consumer has to wait for the producer to let go,
up to the interpreter's switch interval (5 ms by default) for every round trip, which cost a quarter of
a page's time in bench/ingest. While any fetch-ahead runs, the switch interval is 0.5 ms
(`sys.setswitchinterval`, restored when the last one closes): the consumer gets the GIL back within
half a millisecond, for a few more thread switches in the producer. (0.1 ms measured no clear gain:
29.9 to 34.4 % enrichment cost in bench/ingest against 32.4 to 36.4 % at 0.5 ms, within the noise.)
"""

from __future__ import annotations

import contextlib
import queue
import sys
import threading
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import Generic, TypeVar

from django.db import connections

T = TypeVar("T")

_ITEM, _DONE, _ERROR = range(3)
_POLL_SECONDS = 0.1
SWITCH_INTERVAL = 0.0005  # seconds, while a fetch-ahead runs (see the module docstring)

_switch_lock = threading.Lock()
_running = 0
_saved_interval = 0.0


def _fast_switching(on: bool) -> None:
    """Count running fetch-aheads; the first one shortens the switch interval, the last restores it."""
    global _running, _saved_interval
    with _switch_lock:
        if on:
            if _running == 0:
                _saved_interval = sys.getswitchinterval()
                sys.setswitchinterval(min(_saved_interval, SWITCH_INTERVAL))
            _running += 1
        else:
            _running -= 1
            if _running == 0:
                sys.setswitchinterval(_saved_interval)


class FetchAhead(Generic[T]):
    """Iterate `items` in a background thread, at most `depth` items ahead of the consumer."""

    def __init__(
        self,
        items: Iterable[T],
        *,
        depth: int = 1,
        name: str = "fetch-ahead",
        paced: bool = False,
    ) -> None:
        if depth < 1:
            raise ValueError("depth must be at least 1")
        self._items = items
        self._queue: queue.Queue[tuple[int, object]] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        # Paced: the producer starts an item only when the consumer asks for it, by `go()` before it
        # waits on the database or by `next()` finding nothing ready (see `go`).
        self._paced = paced
        self._wanted = threading.Event()
        self._finished = False
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        _fast_switching(True)
        self._thread.start()

    def _put(self, entry: tuple[int, object]) -> bool:
        """Queue an entry, giving up when the consumer has stopped (False)."""
        while not self._stop.is_set():
            try:
                self._queue.put(entry, timeout=_POLL_SECONDS)
            except queue.Full:
                continue
            return True
        return False

    def _wait_until_wanted(self) -> bool:
        """Paced: wait for the consumer's request for the next item (False: the consumer stopped)."""
        while self._paced and not self._wanted.wait(_POLL_SECONDS):
            if self._stop.is_set():
                return False
        self._wanted.clear()
        return not self._stop.is_set()

    def _run(self) -> None:
        try:
            items = iter(self._items)
            while self._wait_until_wanted():
                try:
                    item = next(items)
                except StopIteration:
                    self._put((_DONE, None))
                    return
                if not self._put((_ITEM, item)):
                    return
        except BaseException as exc:  # handed to the consumer, which re-raises it
            self._put((_ERROR, exc))
        finally:
            close = getattr(self._items, "close", None)
            if callable(close):  # a generator: run its finally blocks in this thread
                close()
            connections.close_all()  # only this thread's connections, if it opened any

    def __iter__(self) -> Iterator[T]:
        return self

    def go(self) -> None:
        """Paced: let the producer make the next item now, while this thread waits with the GIL released.

        The consumer calls it just before a long database call (ingest's page statement): the producer's
        Python then runs while the consumer needs no GIL, instead of slowing the consumer's own Python
        (its transaction, the statement's parameters and results) by taking turns with it. Unpaced
        iterators produce as soon as there is room and ignore it.
        """
        self._wanted.set()

    def __next__(self) -> T:
        if self._finished:
            raise StopIteration
        if self._queue.empty():  # nothing ready: it is needed now (paced: ask for it)
            self._wanted.set()
        kind, value = self._queue.get()
        if kind == _ITEM:
            return value  # type: ignore[return-value]
        self._finished = True
        self._thread.join()
        if kind == _ERROR:
            assert isinstance(value, BaseException)
            raise value
        raise StopIteration

    def close(self) -> None:
        """Stop the producer and wait for its thread (it finishes the item it is producing)."""
        self._finished = True
        self._stop.set()
        while self._thread.is_alive():
            with contextlib.suppress(queue.Empty):  # unblock a producer on a full queue
                self._queue.get(timeout=_POLL_SECONDS)
        self._thread.join()
        if not self._closed:
            self._closed = True
            _fast_switching(False)

    def __enter__(self) -> FetchAhead[T]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
