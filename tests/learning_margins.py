"""Learning tests with a measured margin.

A learning test trains an agent with a fixed seed and checks that it learned. Luck must not
decide it: its threshold has to hold on seeds 0-4, not only on the seed that the test runs.
``python benchmarks/learning_margins.py`` runs every test marked ``learning`` on seeds 0-4 and
prints each measured value beside its threshold. A test takes its seeds from
``learning_seeds(...)`` and checks each learned result with the ``margin`` fixture
(``tests/conftest.py``), which also records the value for that table.
"""

import json
import os

SEEDS_VARIABLE = "RL_BOOK_LEARNING_SEEDS"  # "0,1,2,3,4": the seeds the benchmark asks for
LOG_VARIABLE = "RL_BOOK_LEARNING_LOG"  # a JSON-lines file the benchmark reads back


def learning_seeds(*default):
    """The seeds a learning test runs: its own ``default``, or those the benchmark asks for."""
    text = os.environ.get(SEEDS_VARIABLE, "").strip()
    return [int(seed) for seed in text.split(",")] if text else list(default)


def test_name(node):
    """The test's name with its parameters other than the seed: one row of the table."""
    params = dict(getattr(getattr(node, "callspec", None), "params", {}))
    params.pop("seed", None)
    shown = ",".join(getattr(value, "__name__", str(value)) for value in params.values())
    name = f"{node.path.parent.name}/{node.path.name}::{node.originalname}"
    return f"{name}[{shown}]" if shown else name


def check_margin(node, quantity, value, above=None, below=None):
    """Assert ``above < value < below`` (either bound may be missing), or, while the benchmark
    measures, record the value instead."""
    value = float(value)
    log = os.environ.get(LOG_VARIABLE)
    if log:
        # Measuring: record every value, and let the table judge them all.
        seed = getattr(getattr(node, "callspec", None), "params", {}).get("seed")
        with open(log, "a", encoding="utf-8") as file:
            file.write(json.dumps({"test": test_name(node), "quantity": quantity, "seed": seed,
                                   "value": value, "above": above, "below": below}) + "\n")
        return
    if above is not None:
        assert value > above, f"{quantity}: {value:.4g} is not above {above}"
    if below is not None:
        assert value < below, f"{quantity}: {value:.4g} is not below {below}"
