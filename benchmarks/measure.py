"""Timing on a shared, noisy machine: repeats, medians, percentiles, and whole processes."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence


@dataclass
class Result:
    """One row of the table. ``ratio`` is ours / raw as rates (higher is better for us)."""

    workload: str
    ours: str
    raw: str
    ratio: float | None
    target: str
    met: bool | None
    notes: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        return "n/a" if self.met is None else ("met" if self.met else "MISSED")


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))
    return ordered[rank]


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    outcome = action()
    return time.perf_counter() - started, outcome


def latencies(action: Callable[[Any], Any], arguments: Sequence[Any]) -> list[float]:
    """Seconds taken by ``action(argument)`` for each argument."""
    result = []
    for argument in arguments:
        started = time.perf_counter()
        action(argument)
        result.append(time.perf_counter() - started)
    return result


@dataclass(frozen=True)
class Process:
    seconds: float
    max_rss_kb: int
    returncode: int
    stdout: str
    stderr: str


def run_process(argv: Sequence[str], *, env: dict[str, str] | None = None, cwd: str | None = None,
                memory: bool = False) -> Process:
    """Run a whole process; its wall time and (with ``memory``) its own peak resident set size.

    The peak is taken by a small Python parent that starts the process and waits for it: a
    process started straight from this one would count this one's memory as its own (the
    child shares its parent's pages until it executes the new program).
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r", suffix=".json") as figures:
        command = [sys.executable, "-c", PEAK_RSS, figures.name, *argv] if memory else list(argv)
        started = time.perf_counter()
        child = subprocess.Popen(command, stdout=out, stderr=err, env=env, cwd=cwd)
        returncode = child.wait()
        seconds = time.perf_counter() - started
        measured = json.loads(figures.read() or "{}") if memory else {}
        out.seek(0)
        err.seek(0)
        return Process(measured.get("seconds", seconds), measured.get("max_rss_kb", 0),
                       measured.get("returncode", returncode), out.read().decode(errors="replace"),
                       err.read().decode(errors="replace"))


PEAK_RSS = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
returncode = subprocess.call(sys.argv[2:])
seconds = time.perf_counter() - started
with open(sys.argv[1], "w") as figures:
    json.dump({"seconds": seconds, "returncode": returncode,
               "max_rss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}, figures)
"""


def rate(count: float, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def per_second(value: float) -> str:
    if value >= 10_000:
        return f"{value / 1000:,.0f}k/s"
    if value >= 100:
        return f"{value:,.0f}/s"
    return f"{value:,.1f}/s"


def millis(seconds: float) -> str:
    value = seconds * 1000
    return f"{value:.2f} ms" if value < 10 else f"{value:.0f} ms"
