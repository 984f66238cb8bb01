"""
A faithful port of the seed blog post's multiprocess worker
(/work/shared/seeds/000_*.txt, "Building a basic multiprocess worker in
python"): its StubClient, its WorkerManager with two bounded
multiprocessing queues (maxsize 10), its fetch loop in the main thread, its
result thread, and its `run_task` worker processes. Stdlib only.

Where the seed sleeps, and what this port does about it:

* `WorkerManager.run()` sleeps 50 ms after every fetch ("Simulate latency
  with sleep") and fetches ONE task per iteration: as written it can never
  run more than 20 tasks/s. `latency_sleep` keeps it (mode "faithful") or
  removes it (0, the "drain" modes).
* `_fetch_tasks()` sleeps 1 s when the client has no task. In the drain
  modes the stub client always has work (it holds ten times the round's
  count), so this sleep never fires; the round ends when `count` results
  have been published.
* `run_task()` never sleeps: it spins on `get_nowait()` (100% of a core per
  worker process even when idle). Kept as written in "faithful" and "drain";
  mode "drain-blocking" replaces it with a blocking `get()` to show the
  seed's design without the spin.

Deviations, all small: `do_work` runs the benchmark's task body (echo)
instead of printing; the result dict also carries the task's return value
(our module publishes it too); `update_task` stores it; `run()` takes a stop
event so that a round can end; and the result thread is started once.
"""
import atexit
import json
import multiprocessing
import os
import queue
import sys
import threading
import time
import uuid

from bodies import echo
from procstat import tree_cpu_ms

NUM_PROCESS = 2


class StubClient:
    def __init__(self, count: int = 100):
        self._remaining = count
        self._updates: dict[str, str] = {}

    def fetch_task(self):
        # This could be an RPC call that returns a more complex
        # object. I've used a simple dictionary as a prototype
        if self._remaining <= 0:
            return None
        self._remaining -= 1
        return {
            "task_id": uuid.uuid4().hex,
            "name": "echo",
            "payload": f"task # {self._remaining + 1}",
        }

    def update_task(self, task_id: str, status: str, result=None):
        # This could be an RPC call that returns a result object
        self._updates[task_id] = (status, result)


class CountingStubClient(StubClient):
    """The seed's stub, plus what a benchmark needs: when the `target`-th update arrived."""

    def __init__(self, count: int, target: int):
        super().__init__(count)
        self.target = target
        self.updated = 0
        self.done = threading.Event()
        self.done_at = None

    def update_task(self, task_id: str, status: str, result=None):
        super().update_task(task_id, status, result)
        self.updated += 1
        if self.updated == self.target:
            self.done_at = time.perf_counter()
            self.done.set()


def do_work(task):
    # The seed prints the task here; the benchmark runs the echo body.
    return echo(task["payload"])


def run_task(process_work: multiprocessing.Queue, process_results: multiprocessing.Queue) -> None:
    # This function needs to be importable from the module scope
    # because of how multiprocessing works.
    while True:
        # Read from the queue in the manager process.
        try:
            task = process_work.get_nowait()
        except queue.Empty:
            continue
        value = do_work(task)
        result = {"task_id": task["task_id"], "status": "complete", "result": value}
        # Publish results back to the main process
        process_results.put(result)


def run_task_blocking(process_work: multiprocessing.Queue, process_results: multiprocessing.Queue) -> None:
    """`run_task` with a blocking get() instead of spinning on get_nowait()."""
    while True:
        task = process_work.get()
        value = do_work(task)
        process_results.put({"task_id": task["task_id"], "status": "complete", "result": value})


class WorkerManager:
    def __init__(self, client: StubClient, process_count: int = NUM_PROCESS, queue_size: int = 10,
                 latency_sleep: float = 0.05, empty_sleep: float = 1.0, target=run_task) -> None:
        self._client = client
        self._process_count = process_count
        # One queue to send work to the processes, and another to receive results.
        self._process_work: multiprocessing.Queue = multiprocessing.Queue(maxsize=queue_size)
        self._process_results: multiprocessing.Queue = multiprocessing.Queue(maxsize=queue_size)
        self._processes: list[multiprocessing.Process] = []
        # We want to publish results on a thread, and keep our main thread for fetching tasks.
        self._result_thread: threading.Thread | None = None
        # We'll use this to shut down our result_thread later.
        self._shutdown = threading.Event()
        self._latency_sleep = latency_sleep
        self._empty_sleep = empty_sleep
        self._target = target

    def start_processes(self) -> None:
        # Check existing workers for aliveness, and spawn more minions as required.
        processes = [p for p in self._processes if p.is_alive()]
        if len(processes) == self._process_count:
            return
        while len(processes) < self._process_count:
            p = multiprocessing.Process(target=self._target, args=(self._process_work, self._process_results))
            processes.append(p)
            p.start()
        self._processes = processes

    def pids(self) -> list[int]:
        return [p.pid for p in self._processes]

    def _fetch_tasks(self) -> None:
        task = self._client.fetch_task()
        if not task:
            # Backoff and wait for task to arrive
            time.sleep(self._empty_sleep)
            return
        # Could fail with queue.Full (put blocks while the queue is full)
        self._process_work.put(task)

    def _start_send_result_thread(self) -> None:
        if self._result_thread and self._result_thread.is_alive():
            return

        def send_result() -> None:
            while True:
                try:
                    # Read results from worker processes.
                    result = self._process_results.get(timeout=1.0)
                    self._client.update_task(result["task_id"], result["status"], result.get("result"))
                except queue.Empty:
                    # We have drained the queue and we've been shutdown.
                    if self._shutdown.is_set():
                        return
                    continue

        self._result_thread = threading.Thread(name="send-result", target=send_result, daemon=True)
        self._result_thread.start()

    def run(self, stop: threading.Event | None = None):
        self.start_processes()
        self._start_send_result_thread()
        # When the process gets SIGINT/SIGTERM try to shutdown cleanly.
        atexit.register(lambda: self.shutdown())
        while stop is None or not stop.is_set():
            self._fetch_tasks()
            # Simulate latency with sleep (the seed: 50 ms; 0 in the drain modes)
            if self._latency_sleep:
                time.sleep(self._latency_sleep)
            # To handle if a processes dies
            self.start_processes()

    def shutdown(self) -> None:
        # Trigger shutdown to synchronize result thread
        self._shutdown.set()
        # Terminate and wait for all the child processes to die.
        for p in self._processes:
            p.terminate()
            p.join()
        # Wait for the result thread to shutdown.
        if self._result_thread:
            self._result_thread.join(timeout=5)


def drain_round(count: int, mode: str) -> dict:
    """`count` echo tasks through a fresh manager; timed from the first fetch to the count-th update."""
    faithful = mode == "faithful"
    # Never runs dry in the drain modes (the 1 s empty sleep never fires; at
    # most count + the two queues' 20 slots are fetched); the seed's own
    # finite stub in faithful mode.
    client = CountingStubClient(count if faithful else count * 10, target=count)
    manager = WorkerManager(
        client,
        latency_sleep=0.05 if faithful else 0.0,
        target=run_task_blocking if mode == "drain-blocking" else run_task,
    )
    manager.start_processes()  # process start-up is not timed (our threads boot before timing too)
    pids = manager.pids()
    cpu0 = tree_cpu_ms(pids)
    t0 = time.perf_counter()
    runner = threading.Thread(target=manager.run, args=(client.done,), daemon=True)
    runner.start()
    client.done.wait()
    ms = (client.done_at - t0) * 1000
    cpu = tree_cpu_ms(pids) - cpu0
    # The fetch loop sees the stop event after its current put(); the workers
    # are still alive to make room for it.
    runner.join(timeout=5)
    manager.shutdown()
    return {"perSec": count * 1000 / ms, "ms": ms, "count": count, "cpuMsPerTask": cpu / count}


def idle_round(window_ms: float) -> dict:
    """The seed as written with nothing to do: an empty stub, its sleeps, its spinning workers."""
    client = StubClient(0)
    manager = WorkerManager(client)
    stop = threading.Event()
    manager.start_processes()
    runner = threading.Thread(target=manager.run, args=(stop,), daemon=True)
    runner.start()
    time.sleep(1.0)
    pids = manager.pids()
    cpu0 = tree_cpu_ms(pids)
    t0 = time.perf_counter()
    time.sleep(window_ms / 1000)
    ms = (time.perf_counter() - t0) * 1000
    cpu = tree_cpu_ms(pids) - cpu0
    stop.set()
    runner.join(timeout=5)
    manager.shutdown()
    return {"cpuPct": cpu / ms * 100, "windowMs": ms}


def main() -> None:
    args = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    mode = args.get("mode", "drain")
    rounds = int(args.get("rounds", 5))
    if mode == "idle":
        window = float(args.get("durationMs", 10000))
        warmup = idle_round(min(window, 2000))
        measured = [idle_round(window) for _ in range(rounds)]
    else:
        count = int(args.get("count", 100000))
        warmup = drain_round(int(args.get("warmupCount", count)), mode)
        measured = [drain_round(count, mode) for _ in range(rounds)]
    print(json.dumps({
        "warmup": warmup,
        "rounds": measured,
        "startMethod": multiprocessing.get_start_method(),
        "python": sys.version.split()[0],
        "pid": os.getpid(),
    }))


if __name__ == "__main__":
    main()
