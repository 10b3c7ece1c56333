"""Two calls truly at once, each in its own thread on its own database connection.

The first call is held inside its transaction at a chosen function (one its service
calls after taking the row lock) until PostgreSQL shows the second call's session
waiting for a lock; then the first goes on and commits, and the second wakes up to the
committed state. Without a row lock the second never waits: :func:`race` reports that
(``second_waited`` is false) and both calls run through unhindered.

Tests that race need committed data: the ``demo`` fixture (``transactional_db``).
"""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

from django.db import connection, connections

#: Seconds to wait for each side; generous for a loaded 2-core machine, never reached when all is well.
PATIENCE = 15


@dataclass
class Outcome:
    value: Any = None
    error: BaseException | None = None


@dataclass
class Race:
    first: Outcome = field(default_factory=Outcome)
    second: Outcome = field(default_factory=Outcome)
    second_waited: bool = False

    @property
    def outcomes(self) -> list[Outcome]:
        return [self.first, self.second]


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _waits_for_lock(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return row is not None and row[0] == "Lock"


def race(first: Callable[[], Any], second: Callable[[], Any], *, hold: str, patience: float = PATIENCE) -> Race:
    """Run ``first`` and ``second`` at once; ``hold`` is the dotted name where ``first`` pauses."""
    module_name, name = hold.rsplit(".", 1)
    module = importlib.import_module(module_name)
    original = getattr(module, name)
    holding, release = threading.Event(), threading.Event()
    second_pid: list[int] = []
    result = Race()

    def held(*args, **kwargs):
        if threading.current_thread().name == "race-first" and not holding.is_set():
            holding.set()
            release.wait(patience)
        return original(*args, **kwargs)

    def run(outcome: Outcome, func: Callable[[], Any], *, after_hold: bool) -> None:
        try:
            if after_hold:
                holding.wait(patience)
                second_pid.append(_backend_pid())
            outcome.value = func()
        except BaseException as error:  # reported to the test, which asserts on it
            outcome.error = error
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=run, args=(result.first, first), kwargs={"after_hold": False}, name="race-first"),
        threading.Thread(target=run, args=(result.second, second), kwargs={"after_hold": True}, name="race-second"),
    ]
    with mock.patch.object(module, name, held):
        for thread in threads:
            thread.start()
        try:
            holding.wait(patience)
            deadline = time.monotonic() + patience
            while time.monotonic() < deadline and not result.second_waited:
                result.second_waited = bool(second_pid) and _waits_for_lock(second_pid[0])
                if threads[1].is_alive() and not result.second_waited:
                    time.sleep(0.02)
                elif not threads[1].is_alive():
                    break
        finally:
            release.set()
            for thread in threads:
                thread.join(patience * 2)
    return result
