"""benchmarks/cartpole.py: the clocks that its ratios are made of.

The race itself (both libraries, three seeds) is not part of the suite and asserts no time;
these check that each run's time splits into setup and training as the docstring says, and
that the trainer classes are left as they were.
"""


import numpy as np
import pytest

from FN.a2c_agent import ActorCriticTrainer
from tests.script_modules import load_script


@pytest.fixture(scope="module")
def cartpole():
    return load_script("benchmarks/cartpole.py")


def test_first_call_timer_keeps_the_one_time_cost(cartpole):
    timer = cartpole.FirstCallTimer(lambda x: x)
    timer.durations = [np.array([3.0, 2.0])] + [np.array([0.5, 0.25])] * 5
    np.testing.assert_allclose(timer.overhead(), [2.5, 1.75])
    assert timer(7) == 7 and len(timer.durations) == 6


@pytest.mark.slow
def test_ours_splits_into_setup_and_training(cartpole, tmp_path):
    methods = {name: getattr(ActorCriticTrainer, name)
               for name in ("session", "begin_train", "evaluate_if_due")}
    result = cartpole.run_ours("a2c", 0, tmp_path)
    assert {name: getattr(ActorCriticTrainer, name) for name in methods} == methods
    assert result["solved_at"] is not None and result["steps"] == result["solved_at"]
    setup, training, whole = (np.array(result[key]) for key in ("setup", "training", "whole"))
    assert (setup > 0).all() and (training > 0).all()
    assert whole[0] >= setup[0] + training[0]
    lines = cartpole.summarize("a2c", [result], [dict(result, training=list(training * 4))])
    assert "  ratio ours / SB3, training clock (wall): 0.25 (target ≤ 0.50: met)" in lines
