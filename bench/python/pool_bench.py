"""
Python's own pool APIs on the benchmark's task bodies, stdlib only
(seed 002: Pool.map with chunksize, apply_async). Two worker processes,
the platform's default start method (fork on Linux). Modes:

  map          pool.map(square, items, chunksize=C)     items/s
  apply_async  one apply_async(square, (i,)) per item   items/s
  memory       PSS/RSS of each pool worker (/proc/<pid>/smaps_rollup)
  idle         CPU of the whole process tree while the pool has nothing to do
"""
import json
import multiprocessing
import os
import sys
import time

from bodies import noop, square
from procstat import smaps_rollup, tree_cpu_ms

WORKERS = 2


def worker_pids(pool) -> list[int]:
    # Pool keeps its processes in _pool; there is no public accessor.
    return [p.pid for p in pool._pool]


def map_round(pool, count: int, chunksize: int) -> dict:
    items = list(range(count))
    pids = worker_pids(pool)
    cpu0 = tree_cpu_ms(pids)
    t0 = time.perf_counter()
    out = pool.map(square, items, chunksize=chunksize)
    ms = (time.perf_counter() - t0) * 1000
    cpu = tree_cpu_ms(pids) - cpu0
    assert len(out) == count and out[-1] == (count - 1) ** 2
    return {"perSec": count * 1000 / ms, "ms": ms, "count": count, "cpuMsPerItem": cpu / count}


def apply_async_round(pool, count: int) -> dict:
    items = list(range(count))
    pids = worker_pids(pool)
    cpu0 = tree_cpu_ms(pids)
    t0 = time.perf_counter()
    pending = [pool.apply_async(square, (i,)) for i in items]
    out = [r.get() for r in pending]
    ms = (time.perf_counter() - t0) * 1000
    cpu = tree_cpu_ms(pids) - cpu0
    assert len(out) == count and out[-1] == (count - 1) ** 2
    return {"perSec": count * 1000 / ms, "ms": ms, "count": count, "cpuMsPerItem": cpu / count}


def memory_probe() -> dict:
    """One fresh pool: warm every worker, settle, read each worker's PSS and RSS."""
    with multiprocessing.Pool(WORKERS) as pool:
        pool.map(square, range(20000), chunksize=1)
        pool.map(noop, range(WORKERS * 8), chunksize=1)
        time.sleep(0.5)
        workers = [smaps_rollup(pid) for pid in worker_pids(pool)]
        main_proc = smaps_rollup("self")
    return {
        "workerPss": sum(w["pss"] for w in workers) / len(workers),
        "workerRss": sum(w["rss"] for w in workers) / len(workers),
        "mainPss": main_proc["pss"],
        "mainRss": main_proc["rss"],
    }


def idle_round(pool, window_ms: float) -> dict:
    pids = worker_pids(pool)
    cpu0 = tree_cpu_ms(pids)
    t0 = time.perf_counter()
    time.sleep(window_ms / 1000)
    ms = (time.perf_counter() - t0) * 1000
    return {"cpuPct": (tree_cpu_ms(pids) - cpu0) / ms * 100, "windowMs": ms}


def main() -> None:
    args = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    mode = args.get("mode", "map")
    rounds = int(args.get("rounds", 5))
    count = int(args.get("count", 1_000_000))
    warmup_count = int(args.get("warmupCount", count))
    out = {"startMethod": multiprocessing.get_start_method(), "python": sys.version.split()[0]}
    if mode == "memory":
        out["probe"] = memory_probe()
        print(json.dumps(out))
        return
    with multiprocessing.Pool(WORKERS) as pool:
        pool.map(noop, range(WORKERS * 8), chunksize=1)  # every worker up
        if mode == "map":
            chunksize = int(args.get("chunksize", 100))
            run = lambda n: map_round(pool, n, chunksize)  # noqa: E731
        elif mode == "apply_async":
            run = lambda n: apply_async_round(pool, n)  # noqa: E731
        elif mode == "idle":
            window = float(args.get("durationMs", 10000))
            warmup_count = min(window, 1000)
            count = window
            run = lambda ms: idle_round(pool, ms)  # noqa: E731
        else:
            raise SystemExit(f"unknown mode {mode}")
        out["warmup"] = run(warmup_count)
        out["rounds"] = [run(count) for _ in range(rounds)]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
