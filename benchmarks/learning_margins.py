"""The margins of the learning tests: each measured value on seeds 0-4 beside its threshold.

A learning test (marked ``learning``) trains with one seed and checks a result against a
threshold. This script runs those tests on seeds 0-4 instead, records every checked value
(``tests/learning_margins.py``) and prints one row per value: the five measurements, the
threshold and the closest seed's distance from it. A threshold that one of the seeds misses
is marked ``FAIL``: it sits inside the spread of its seeds and must move, or the test must
learn for longer. Re-run it whenever the locked library versions change (``constraints.txt``).

    python benchmarks/learning_margins.py                   # every learning test, seeds 0-4
    python benchmarks/learning_margins.py -k catcher        # only some (pytest's -k)
    python benchmarks/learning_margins.py --seeds 0,1,2,3,4,5,6
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.learning_margins import LOG_VARIABLE, SEEDS_VARIABLE  # noqa: E402


def seed_list(text):
    try:
        seeds = [int(seed) for seed in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of seeds") from None
    if not seeds or min(seeds) < 0:
        raise argparse.ArgumentTypeError("seeds are whole numbers from 0")
    return seeds


def run_tests(seeds, keyword, log):
    """Run the learning tests on ``seeds``, recording their values in ``log``."""
    command = [sys.executable, "-m", "pytest", "-m", "learning", "-q", "-p", "no:cacheprovider",
               "-o", "addopts=--import-mode=importlib", "--timeout", "3600"]
    if keyword:
        command += ["-k", keyword]
    env = {**os.environ, SEEDS_VARIABLE: ",".join(map(str, seeds)), LOG_VARIABLE: str(log)}
    return subprocess.run(command, cwd=ROOT, env=env).returncode


def margin_of(row):
    """How far a value lies on the right side of its threshold (negative: the wrong side)."""
    if row["above"] is not None:
        return row["value"] - row["above"]
    return row["below"] - row["value"]


def table(rows, seeds):
    """Markdown lines: test, value, one column per seed, threshold, smallest margin."""
    values = defaultdict(dict)
    bounds = {}
    for row in rows:
        key = (row["test"], row["quantity"])
        values[key][row["seed"]] = (row["value"], margin_of(row))
        bounds[key] = f"> {row['above']:g}" if row["above"] is not None else f"< {row['below']:g}"
    seed_header = " | ".join(f"seed {seed}" for seed in seeds)
    lines = [f"| test | value | {seed_header} | threshold | smallest margin |",
             "|---" * (len(seeds) + 4) + "|"]
    for key in sorted(values):
        measured = values[key]
        if None in measured:  # a test that asserts across several seeds of its own
            cells = [f"{measured[None][0]:.3g} (its own seeds)"] + [""] * (len(seeds) - 1)
            margins = [measured[None][1]]
        else:
            cells = [f"{measured[seed][0]:.3g}" if seed in measured else "—" for seed in seeds]
            margins = [measured[seed][1] for seed in seeds if seed in measured]
        smallest = min(margins)
        verdict = "" if smallest > 0 and len(margins) else " FAIL"
        lines.append(f"| {key[0]} | {key[1]} | {' | '.join(cells)} | {bounds[key]} | "
                     f"{smallest:+.3g}{verdict} |")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=seed_list, default=[0, 1, 2, 3, 4],
                        help="comma-separated seeds to run each learning test on (default 0-4)")
    parser.add_argument("-k", dest="keyword", default="",
                        help="run only the learning tests that match (pytest's -k expression)")
    parser.add_argument("--log", type=Path, default=None,
                        help="keep the measured values in this JSON-lines file (default: a "
                             "temporary file)")
    args = parser.parse_args(argv)
    log = args.log or Path(tempfile.mkdtemp(prefix="learning-margins-")) / "values.jsonl"
    if log.exists():
        parser.error(f"{log} exists already: name a new file, so no measurement is mixed in")
    status = run_tests(args.seeds, args.keyword, log)
    rows = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    print("\n".join(table(rows, args.seeds)))
    print(f"\n{len(rows)} values from {len({row['test'] for row in rows})} tests; "
          f"pytest exit status {status}; values kept in {log}")
    return rows


if __name__ == "__main__":
    main()
