"""Speed of the DP maze simulator's server, end to end over HTTP.

Starts ``python DP/run_server.py --port 0`` in its own process and measures, as a browser
would see it:

1. the latency of a 20 x 20 ``/plan`` (Value Iteration and Policy Iteration), one request at
   a time; target: median under 50 ms. Baselines from the same run: the page ``/`` (what
   HTTP alone costs) and the planner called in-process (what planning alone costs);
2. 20 clients (threads of a separate process) sending 10 x 10 plans for 10 seconds while a
   probe in this process asks for ``/`` every 50 ms; targets: no request fails, and ``/``
   stays under 100 ms at p95. The baseline is the same probe on the idle server.

    python benchmarks/dp_server.py
    python benchmarks/dp_server.py --duration 3 --requests 20   # quicker

Other programs running on the machine slow every figure; compare the ratios printed in one
run rather than figures taken on different days.
"""

import argparse
import http.client
import json
import multiprocessing
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

from DP.vectorized_planner import Environment, PolicyIterationPlanner, ValueIterationPlanner

ROOT = Path(__file__).resolve().parents[1]
HEADERS = {"Content-Type": "application/json"}


def make_maze(size, seed):
    """A maze like the ones readers draw: treasure top right, danger below it, some walls."""
    rng = np.random.default_rng(seed)
    grid = np.where(rng.random((size, size)) < 0.12, 9, 0)
    grid[size // 2, 2:size - 2] = 9
    grid[:, 0] = 0
    grid[size // 2, size // 2] = 0
    grid[0, size - 1], grid[1, size - 1] = 1, -1
    grid[size - 1, 0] = 0
    return grid.tolist()


def start_server():
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "DP" / "run_server.py"), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    line = process.stdout.readline()
    if "http://" not in line:
        process.kill()
        raise SystemExit(f"the server did not start: {line}")
    url = urlsplit(line.split("open ", 1)[1].split()[0])
    # Keep reading what the server prints, so that a full pipe can never stall it.
    threading.Thread(target=process.stdout.read, daemon=True).start()
    return process, url.hostname, url.port


class Client:
    """One keep-alive connection, as a browser tab keeps."""

    def __init__(self, host, port):
        self.connection = http.client.HTTPConnection(host, port, timeout=30)

    def request(self, method, path, body=None):
        start = time.perf_counter()
        self.connection.request(method, path, body=body, headers=HEADERS if body else {})
        response = self.connection.getresponse()
        data = response.read()
        return response.status, data, time.perf_counter() - start

    def close(self):
        self.connection.close()


def percentile(samples, q):
    return float(np.percentile(samples, q)) * 1000


def describe(samples):
    return (f"median {statistics.median(samples) * 1000:6.1f} ms, "
            f"p95 {percentile(samples, 95):6.1f} ms (n={len(samples)})")


def single_plans(host, port, maze, requests):
    client = Client(host, port)
    results = {}
    try:
        page = [client.request("GET", "/")[2] for _ in range(requests)]
        results["page"] = page
        for plan in ("value", "policy"):
            body = json.dumps({"plan": plan, "prob": 0.8, "gamma": 0.9, "grid": maze})
            times = []
            for _ in range(requests):
                status, data, elapsed = client.request("POST", "/plan", body)
                if status != 200:
                    raise SystemExit(f"/plan answered {status}: {data[:200]!r}")
                times.append(elapsed)
            results[plan] = times
    finally:
        client.close()
    for plan, planner_class in (("value", ValueIterationPlanner),
                                ("policy", PolicyIterationPlanner)):
        times = []
        for _ in range(requests):
            start = time.perf_counter()
            planner_class(Environment(maze)).plan(gamma=0.9)
            times.append(time.perf_counter() - start)
        results[f"{plan} in-process"] = times
    return results


def probe_page(host, port, stop, samples, period=0.05):
    client = Client(host, port)
    try:
        while not stop.is_set():
            status, _, elapsed = client.request("GET", "/")
            samples.append((status, elapsed))
            time.sleep(period)
    finally:
        client.close()


def generate_load(host, port, body, clients, duration, started, results):
    """Run in a separate process: ``clients`` threads post ``body`` for ``duration`` seconds.

    The load runs in its own process so that its threads do not delay the probe's
    measurements of ``/`` (they would compete for the probe's interpreter lock).
    """
    stop = threading.Event()
    samples, errors = [], []
    lock = threading.Lock()

    def worker():
        client = Client(host, port)
        try:
            while not stop.is_set():
                try:
                    status, _, elapsed = client.request("POST", "/plan", body)
                except (OSError, http.client.HTTPException) as error:
                    with lock:
                        errors.append(repr(error))
                    client.close()
                    client = Client(host, port)
                    continue
                with lock:
                    samples.append((status, elapsed))
        finally:
            client.close()

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for thread in threads:
        thread.start()
    started.set()
    time.sleep(duration)
    stop.set()
    for thread in threads:
        thread.join()
    results.put((samples, errors))


def load_test(host, port, maze, clients, duration):
    body = json.dumps({"plan": "value", "prob": 0.8, "gamma": 0.9, "grid": maze})
    context = multiprocessing.get_context("spawn")
    started, results = context.Event(), context.Queue()
    load = context.Process(
        target=generate_load, args=(host, port, body, clients, duration, started, results)
    )
    load.start()
    if not started.wait(60):
        load.kill()
        raise SystemExit("the load generator did not start")
    stop = threading.Event()
    page_samples = []
    prober = threading.Thread(target=probe_page, args=(host, port, stop, page_samples))
    prober.start()
    plan_samples, errors = results.get(timeout=duration + 120)
    stop.set()
    prober.join()
    load.join()
    return plan_samples, page_samples, errors


def main(argv=None):
    parser = argparse.ArgumentParser(description="Benchmark the DP maze simulator's server.")
    parser.add_argument("--requests", type=int, default=50,
                        help="sequential requests per measurement (default 50)")
    parser.add_argument("--clients", type=int, default=20,
                        help="concurrent clients in the load test (default 20)")
    parser.add_argument("--duration", type=float, default=10.0,
                        help="seconds of the load test (default 10)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random walls (default 0)")
    args = parser.parse_args(argv)

    big, small = make_maze(20, args.seed), make_maze(10, args.seed)
    process, host, port = start_server()
    try:
        print(f"server: {host}:{port} (its own process); 20 x 20 maze, γ = 0.9, prob = 0.8")
        results = single_plans(host, port, big, args.requests)
        print("\n1. One request at a time")
        print(f"   GET /                      {describe(results['page'])}")
        for plan in ("value", "policy"):
            http_median = statistics.median(results[plan])
            alone = statistics.median(results[f"{plan} in-process"])
            verdict = "OK" if http_median < 0.050 else "SLOWER THAN 50 ms"
            print(f"   /plan {plan:<6} 20 x 20       {describe(results[plan])}  [{verdict}]")
            print(f"         planner alone        {describe(results[f'{plan} in-process'])}"
                  f"  -> HTTP answer = {http_median / alone:.1f}x planning alone, "
                  f"{http_median / statistics.median(results['page']):.0f}x the page")

        idle = []
        stop = threading.Event()
        prober = threading.Thread(target=probe_page, args=(host, port, stop, idle))
        prober.start()
        time.sleep(min(2.0, args.duration / 2))
        stop.set()
        prober.join()

        plans, pages, errors = load_test(host, port, small, args.clients, args.duration)
        failed = [s for s, _ in plans if s != 200] + [s for s, _ in pages if s != 200]
        plan_times = [t for _, t in plans]
        page_times = [t for _, t in pages]
        print(f"\n2. {args.clients} clients sending 10 x 10 Value Iteration plans "
              f"for {args.duration:g} s")
        print(f"   /plan answered {len(plans)} ({len(plans) / args.duration:.0f}/s), "
              f"failed {len(failed) + len(errors)}")
        print(f"   /plan under load           {describe(plan_times)}")
        print(f"   GET / idle                 {describe([t for _, t in idle])}")
        met = percentile(page_times, 95) < 100 and not failed and not errors
        print(f"   GET / under load           {describe(page_times)}  "
              f"[{'OK' if met else 'MISSED'}: p95 target 100 ms, no failures]")
        print(f"   -> p95 of / under load = "
              f"{percentile(page_times, 95) / percentile([t for _, t in idle], 95):.1f}x idle")
        for error in errors[:5]:
            print(f"   error: {error}")
    finally:
        process.terminate()
        process.wait(timeout=10)


if __name__ == "__main__":
    main()
