"""The registry's HTTP benchmark runs end to end at a tiny size and prints every figure: it never rots.

No timing is asserted; the figures of a tiny run mean nothing.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from registry_server import ROOT


@pytest.mark.slow
def test_a_tiny_run_of_the_http_benchmark_prints_each_figure_with_its_baseline() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "registry_http.py"), "--tiny"],
                          capture_output=True, text=True, timeout=180, cwd=str(ROOT))
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    for figure in ("organization JSON, 4 connections", "p99 latency, 16 clients", "search page over 300 organizations",
                   "the same, status=certified&q=a"):
        (row,) = [line for line in lines if line.startswith(figure)]
        assert float(row.split()[-1]) > 0
    assert any(line.startswith("server RSS per worker") and "MB" in line for line in lines)
