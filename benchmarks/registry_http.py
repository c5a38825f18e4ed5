"""The public registry's speed over HTTP, each figure against a trivial JSON route of the same stack.

    python benchmarks/registry_http.py          20,000 organizations (about a minute)
    python benchmarks/registry_http.py --tiny   a smoke run (seconds)

The server is the one ``certledger serve`` runs (uvicorn, the app factory, the same options),
with one extra route, ``/bench/trivial``, that answers a constant JSON object without touching
the ledger: the baseline that every figure is divided by, measured in the same run, so that the
machine's speed and the HTTP stack's own cost cancel out. The client is small (raw keep-alive
connections, one thread each) and talks to the loopback address only; every loop is bounded.

Figures:
- throughput: requests per second for one organization's status as JSON, 4 connections, vs trivial;
- p99 latency of the same with 16 concurrent clients, vs trivial;
- the search page (``/``, the first 100 rows of the whole registry) over all organizations: median, vs trivial;
  and the same with filters (every organization's status is then looked at, to count the answer);
- resident memory of each worker process after the run.
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT)]

from fixtures import write_jsonl  # noqa: E402
from generate import generate  # noqa: E402
from measure import percentile  # noqa: E402

AS_OF = "2026-01-01"
TRIVIAL = "/bench/trivial"


def bench_app() -> Any:
    """The registry's app, plus the baseline route (uvicorn imports this as a factory)."""
    from starlette.responses import JSONResponse

    from web.app import create_app

    app = create_app(os.environ["CERTLEDGER_DB"])

    @app.get(TRIVIAL, include_in_schema=False)
    def trivial() -> JSONResponse:
        return JSONResponse({"ok": True}, headers={"X-Ledger-Position": "0"})

    return app


def serve(db: str, port: int, workers: int) -> None:
    """The server as ``certledger serve`` runs it (``web.serving.run_workers``), with the baseline route added."""
    import uvicorn

    from web.serving import listening_socket, run_workers

    os.environ["CERTLEDGER_DB"] = db
    run_workers(uvicorn.Config("registry_http:bench_app", factory=True, host="127.0.0.1", port=port,
                               workers=workers, proxy_headers=True, server_header=False, timeout_keep_alive=5,
                               log_level="warning"), listening_socket("127.0.0.1", port))


# ---------------------------------------------------------------- the client


def fetch(connection: http.client.HTTPConnection, path: str) -> float:
    started = time.perf_counter()
    connection.request("GET", path)
    response = connection.getresponse()
    body = response.read()
    if response.status != 200 or not body:
        raise RuntimeError(f"{path}: {response.status} {body[:200]!r}")
    return time.perf_counter() - started


def load(port: int, paths: list[str], clients: int, per_client: int) -> tuple[float, list[float]]:
    """``clients`` threads, each with its own keep-alive connection, each fetching ``per_client`` paths
    (cycling through ``paths``): the wall time and every request's latency."""
    timings: list[list[float]] = [[] for _ in range(clients)]
    barrier = threading.Barrier(clients + 1)

    def client(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        fetch(connection, paths[0])  # connect and warm up outside the timing
        barrier.wait()
        for n in range(per_client):
            timings[index].append(fetch(connection, paths[(index + n) % len(paths)]))
        connection.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, [t for per in timings for t in per]


def worker_rss(supervisor: int) -> list[int]:
    """Resident memory (bytes) of each worker: the supervisor's children, or the server itself if it has none."""
    children = Path(f"/proc/{supervisor}/task/{supervisor}/children")
    pids = [int(p) for p in children.read_text().split()] if children.exists() else []
    # uvicorn's multiprocess supervisor also starts a resource tracker: workers are the ones serving HTTP.
    pids = [pid for pid in pids if "multiprocessing.resource_tracker" not in cmdline(pid)] or [supervisor]
    return [rss(pid) for pid in pids]


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def wait_until_up(port: int, process: subprocess.Popen[bytes], seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the server exited")
        try:
            fetch(http.client.HTTPConnection("127.0.0.1", port, timeout=5), TRIVIAL)
            return
        except (OSError, RuntimeError):
            time.sleep(0.2)
    raise RuntimeError("the server did not start")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def build_ledger(directory: Path, orgs: int) -> str:
    from service import LedgerService

    db = str(directory / "registry.db")
    lines = directory / "registry.jsonl"
    write_jsonl(lines, generate(orgs, 2, seed=1, start_year=2024))
    service = LedgerService(db, "bench")
    try:
        service.import_file(str(lines))
        service.views().catch_up()
    finally:
        service.close()
    return db


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="a smoke run")
    parser.add_argument("--orgs", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--serve", nargs=3, metavar=("DB", "PORT", "WORKERS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve[0], int(args.serve[1]), int(args.serve[2]))
        return 0
    orgs = 300 if args.tiny else args.orgs
    requests = 200 if args.tiny else 2_000  # per figure, split over the clients
    with tempfile.TemporaryDirectory(prefix="certledger-web-bench-") as scratch:
        started = time.perf_counter()
        db = build_ledger(Path(scratch), orgs)
        print(f"ledger: {orgs:,} organizations, built in {time.perf_counter() - started:.1f} s; "
              f"server: {args.workers} worker(s); client: loopback, keep-alive")
        port = free_port()
        server = subprocess.Popen([sys.executable, __file__, "--serve", db, str(port), str(args.workers)],
                                  cwd=str(ROOT))
        try:
            wait_until_up(port, server)
            report(port, orgs, requests, args.workers, server.pid)
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
    return 0


def report(port: int, orgs: int, requests: int, workers: int, supervisor: int) -> None:
    orgs_paths = [f"/api/organizations/org-{n:06d}?as_of={AS_OF}" for n in range(1, min(orgs, 500) + 1)]
    rows = []

    wall, _ = load(port, [TRIVIAL], 4, requests // 4)
    trivial_rate = requests / wall
    wall, _ = load(port, orgs_paths, 4, requests // 4)
    org_rate = requests / wall
    rows.append(("organization JSON, 4 connections", f"{org_rate:,.0f} req/s", f"{trivial_rate:,.0f} req/s",
                 org_rate / trivial_rate))

    _, trivial_times = load(port, [TRIVIAL], 16, requests // 16)
    _, org_times = load(port, orgs_paths, 16, requests // 16)
    trivial_p99, org_p99 = percentile(trivial_times, 99), percentile(org_times, 99)
    rows.append(("p99 latency, 16 clients", f"{org_p99 * 1000:.1f} ms", f"{trivial_p99 * 1000:.1f} ms",
                 trivial_p99 / org_p99))

    pages = max(10, requests // 100)
    _, baseline_times = load(port, [TRIVIAL], 1, pages)
    baseline = statistics.median(baseline_times)
    for name, query in ((f"search page over {orgs:,} organizations", ""),
                        ("the same, status=certified&q=a", "&status=certified&q=a")):
        _, search_times = load(port, [f"/?as_of={AS_OF}{query}"], 1, pages)
        search = statistics.median(search_times)
        rows.append((name, f"{search * 1000:.1f} ms", f"{baseline * 1000:.2f} ms", baseline / search))
    sizes = worker_rss(supervisor)

    print(f"{'workload':44}  {'ours':>12}  {'trivial':>12}  {'ratio':>7}")
    print(f"{'-' * 44}  {'-' * 12}  {'-' * 12}  {'-' * 7}")
    for name, ours, trivial, ratio in rows:
        print(f"{name:44}  {ours:>12}  {trivial:>12}  {ratio:7.2f}")
    print(f"{'server RSS per worker':44}  {', '.join(f'{s / 2**20:.0f} MB' for s in sizes):>12}")
    print("ratio = ours / trivial as rates (latency: trivial / ours); the trivial route is the same server's "
          "/bench/trivial")


if __name__ == "__main__":
    sys.exit(main())
