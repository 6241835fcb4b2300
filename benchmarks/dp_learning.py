"""Speed of the Day3 page's stream (/learn/socket), end to end, as a browser would see it.

Starts ``python DP/run_server.py --port 0`` in its own process, then:

1. one Q-learning learner on a 10 x 10 maze at full speed: episodes per second that reach the
   WebSocket client (target: at least 200). Baseline from the same run: the same learner and
   settings in this process (``DP.learning.learn_maze``), what learning alone costs;
2. while learners run at full speed (one, then Q-learning and SARSA side by side), another
   client (a separate process) asks for a 10 x 10 ``/plan`` every 50 ms (target: p95 under
   50 ms). Baseline: the same probe on the idle server.

    python benchmarks/dp_learning.py
    python benchmarks/dp_learning.py --episodes 1000 --probes 40   # quicker

Other programs running on the machine slow every figure; compare the ratios printed in one
run rather than figures taken on different days.
"""

import argparse
import asyncio
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

from tornado.websocket import websocket_connect

from DP.learning import LearningSettings, learn_maze
from DP.learning_socket import MAX_EPISODES

ROOT = Path(__file__).resolve().parents[1]


def make_maze(size=10):
    """Treasure top right, Danger below it, a wall with a gap across the middle."""
    grid = [[0] * size for _ in range(size)]
    grid[0][size - 1], grid[1][size - 1] = 1, -1
    for column in range(1, size):
        grid[size // 2][column] = 9
    grid[size // 2][size // 2] = 0
    return grid


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
    threading.Thread(target=process.stdout.read, daemon=True).start()
    return process, url.hostname, url.port


def probe_plans(host, port, grid, count, results):
    """In its own process: ``count`` plans, one every 50 ms; their latencies in seconds."""
    connection = http.client.HTTPConnection(host, port, timeout=30)
    body = json.dumps({"plan": "value", "grid": grid})
    latencies = []
    for _ in range(count):
        start = time.perf_counter()
        connection.request("POST", "/plan", body=body,
                           headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise SystemExit(f"/plan answered {response.status}")
        latencies.append(time.perf_counter() - start)
        time.sleep(0.05)
    results.put(latencies)


def run_probe(host, port, grid, count):
    results = multiprocessing.Queue()
    process = multiprocessing.Process(target=probe_plans, args=(host, port, grid, count, results))
    process.start()
    return process, results


def summary(latencies):
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return statistics.median(ordered) * 1000, p95 * 1000


async def open_learner(host, port, learner, grid, episodes):
    """A socket whose learner has just started at full speed."""
    socket = await websocket_connect(f"ws://{host}:{port}/learn/socket")
    await socket.read_message()  # "ready"
    socket.write_message(json.dumps({"type": "start", "learner": learner, "grid": grid,
                                     "episodes": episodes, "speed": 0}))
    return socket


def episodes_in(text):
    message = json.loads(text)
    if message["type"] == "error":
        raise SystemExit(message["error"])
    return len(message.get("episodes", [])), message.get("status")


async def learn(host, port, learner, grid, episodes):
    """One learner to its end; return (episodes received, seconds)."""
    socket = await open_learner(host, port, learner, grid, episodes)
    received, start = 0, time.perf_counter()
    while True:
        count, status = episodes_in(await socket.read_message())
        received += count
        if status == "done":
            socket.close()
            return received, time.perf_counter() - start


async def learn_while_probing(host, port, grid, learners, probes):
    """Learners at full speed while the probe runs; their rates and the probe's latencies."""
    sockets = [await open_learner(host, port, name, grid, MAX_EPISODES) for name in learners]
    probe, results = run_probe(host, port, grid, probes)
    counts = [0] * len(sockets)
    start = time.perf_counter()

    async def read(index, socket):
        while probe.is_alive():
            try:
                text = await asyncio.wait_for(socket.read_message(), 0.2)
            except asyncio.TimeoutError:
                continue
            counts[index] += episodes_in(text)[0]

    await asyncio.gather(*(read(i, socket) for i, socket in enumerate(sockets)))
    seconds = time.perf_counter() - start
    for socket in sockets:
        socket.close()
    latencies = results.get()
    probe.join()
    return [count / seconds for count in counts], latencies


def main(argv=None):
    parser = argparse.ArgumentParser(description="Speed of the Day3 learning stream.")
    parser.add_argument("--episodes", type=int, default=2000,
                        help="episodes of each learning run (default 2000)")
    parser.add_argument("--probes", type=int, default=60,
                        help="/plan requests of each latency probe (default 60)")
    args = parser.parse_args(argv)
    grid = make_maze(10)

    start = time.perf_counter()
    learn_maze(LearningSettings("q_learning", grid, episodes=args.episodes))
    alone = args.episodes / (time.perf_counter() - start)
    print(f"in-process Q-learning (baseline): {alone:.0f} episodes/s")

    server, host, port = start_server()
    try:
        probe, results = run_probe(host, port, grid, args.probes)
        idle = results.get()
        probe.join()
        idle_median, idle_p95 = summary(idle)
        print(f"/plan on the idle server (baseline): median {idle_median:.1f} ms, "
              f"p95 {idle_p95:.1f} ms")

        received, seconds = asyncio.run(learn(host, port, "q_learning", grid, args.episodes))
        streamed = received / seconds
        print(f"streamed to the page: {streamed:.0f} episodes/s "
              f"({streamed / alone:.2f} x in-process; target >= 200 episodes/s: "
              f"{'met' if streamed >= 200 else 'NOT met'})")

        for learners in (["q_learning"], ["q_learning", "sarsa"]):
            rates, latencies = asyncio.run(
                learn_while_probing(host, port, grid, learners, args.probes))
            median, p95 = summary(latencies)
            shown = ", ".join(f"{name} {rate:.0f} episodes/s"
                              for name, rate in zip(learners, rates))
            print(f"/plan while {' and '.join(learners)} learn ({shown}): median {median:.1f} ms, "
                  f"p95 {p95:.1f} ms ({p95 / idle_p95:.2f} x idle p95; target p95 < 50 ms: "
                  f"{'met' if p95 < 50 else 'NOT met'})")
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
