"""FetchAhead (mentions/pipeline.py): in order, bounded, errors in place, stops with its consumer."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator

import pytest

from mentions.pipeline import SWITCH_INTERVAL, FetchAhead


def test_items_arrive_in_order_and_the_thread_ends() -> None:
    with FetchAhead(iter(range(100))) as ahead:
        assert list(ahead) == list(range(100))
        assert list(ahead) == []  # exhausted stays exhausted
    assert not [t for t in threading.enumerate() if t.name == "fetch-ahead"]


def test_the_producer_runs_at_most_depth_plus_one_items_ahead() -> None:
    produced: list[int] = []

    def items() -> Iterator[int]:
        for n in range(10):
            produced.append(n)
            yield n

    with FetchAhead(items(), depth=1) as ahead:
        assert next(ahead) == 0
        time.sleep(0.3)
        # item 1 waits in the queue, item 2 is made and waits for room: never more
        assert produced == [0, 1, 2]
        assert list(ahead) == list(range(1, 10))


def test_work_overlaps_with_the_consumer() -> None:
    def slow() -> Iterator[int]:
        for n in range(5):
            time.sleep(0.1)
            yield n

    started = time.perf_counter()
    with FetchAhead(slow()) as ahead:
        for _ in ahead:
            time.sleep(0.1)  # the consumer's own work, e.g. storing the page
    # sequential: 10 x 0.1 s; overlapped: about 6 x 0.1 s
    assert time.perf_counter() - started < 0.9


def test_an_error_is_raised_after_the_items_produced_before_it() -> None:
    def failing() -> Iterator[int]:
        yield 1
        yield 2
        raise ConnectionError("X went away")

    seen: list[int] = []

    def consume() -> None:
        with FetchAhead(failing()) as ahead:
            seen.extend(ahead)

    with pytest.raises(ConnectionError, match="went away"):
        consume()
    assert seen == [1, 2]


def test_a_consumer_that_stops_early_stops_the_producer() -> None:
    closed = threading.Event()
    produced: list[int] = []

    def endless() -> Iterator[int]:
        try:
            n = 0
            while True:
                produced.append(n)
                yield n
                n += 1
        finally:
            closed.set()

    def consume() -> None:
        with FetchAhead(endless()) as ahead:
            for item in ahead:
                if item == 3:
                    raise RuntimeError("store failed")

    with pytest.raises(RuntimeError, match="store failed"):
        consume()
    assert closed.wait(2)  # the generator's finally ran: nothing keeps fetching
    count = len(produced)
    time.sleep(0.2)
    assert len(produced) == count
    assert count <= 3 + 3


def test_depth_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        FetchAhead(iter([]), depth=0)


def test_the_switch_interval_is_short_while_fetching_ahead_and_restored_after() -> None:
    before = sys.getswitchinterval()
    with FetchAhead(iter(range(3))) as outer:
        assert sys.getswitchinterval() == min(before, SWITCH_INTERVAL)
        with FetchAhead(iter(range(3))) as inner:
            assert list(inner) == [0, 1, 2]
        assert sys.getswitchinterval() == min(
            before, SWITCH_INTERVAL
        )  # outer still runs
        assert list(outer) == [0, 1, 2]
        outer.close()  # closing twice is harmless
    assert sys.getswitchinterval() == before
