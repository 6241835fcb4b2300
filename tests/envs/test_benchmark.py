import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_envs_benchmark_runs_as_a_file_and_prints_every_figure():
    # Run as a file, as the README says, the benchmark must find the envs package it measures.
    result = subprocess.run(
        [sys.executable, "benchmarks/environments.py", "--seconds", "0.01", "--repeats", "1",
         "--num-envs", "4"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )
    lines = result.stdout.splitlines()
    for label in ("Catcher, single", "Catcher, batched (4 games)",
                  "Catcher, SyncVectorEnv (4 games)", "CartPole-v1, single"):
        line = next(line for line in lines if line.startswith(label))
        assert "steps/s" in line and int(line.split(":")[1].split()[0].replace(",", "")) > 0

