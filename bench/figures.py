"""One measured figure of the benchmarks, with the raw operation that bounds it and its target.

Every benchmark module returns a list of :class:`Figure`. ``bench.run`` prints them as one
table (figure, raw PostgreSQL operation, ratio, target, met or missed and by how much) and
writes them to ``bench/results/``.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass


@dataclass
class Figure:
    name: str  # e.g. "import.members_per_s"
    value: float
    unit: str  # "s", "ms", "rows/s", "MB", "queries", ...
    raw: float | None = None  # the same measure for the raw PostgreSQL operation
    raw_label: str = ""  # what the raw operation was, e.g. "COPY FROM STDIN"
    target: float | None = None  # the target value
    higher_is_better: bool = False  # True for rates
    max_ratio: float | None = None  # target on the ratio to the raw operation (value/raw for times)
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """How many times the raw operation's cost this one costs (>1: slower than raw)."""
        if self.raw in (None, 0) or not self.value:
            return None
        return self.raw / self.value if self.higher_is_better else self.value / self.raw

    @property
    def verdict(self) -> str:
        """'met', or 'missed by N %' on the value target or the ratio target; '' when no target."""
        misses = []
        if self.target is not None:
            if self.higher_is_better and self.value < self.target:
                misses.append(f"{(1 - self.value / self.target) * 100:.0f} % below target")
            elif not self.higher_is_better and self.value > self.target:
                misses.append(f"{(self.value / self.target - 1) * 100:.0f} % over target")
        if self.max_ratio is not None and self.ratio is not None and self.ratio > self.max_ratio:
            misses.append(f"ratio {self.ratio:.2f}× > {self.max_ratio}×")
        if misses:
            return "MISSED: " + "; ".join(misses)
        return "met" if (self.target is not None or self.max_ratio is not None) else ""

    def as_dict(self) -> dict:
        return {**asdict(self), "ratio": self.ratio, "verdict": self.verdict}


def timed(func: Callable, *args, **kwargs) -> tuple[float, object]:
    """Run ``func`` once; return (seconds, its result)."""
    start = time.perf_counter()
    result = func(*args, **kwargs)
    return time.perf_counter() - start, result


def percentiles(samples_ms: list[float]) -> tuple[float, float]:
    """Return (p50, p95) of ``samples_ms``."""
    ordered = sorted(samples_ms)
    p50 = statistics.median(ordered)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return p50, p95
