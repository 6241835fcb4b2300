"""The scikit-learn value-function agent: Q-learning targets, saving and loading, the script."""

from common import set_seed

import gymnasium as gym
import numpy as np
import pytest

from FN import value_function_agent
from FN.fn_framework import Experience
from FN.value_function_agent import CartPoleObserver, ValueFunctionAgent


def experiences(count=40, seed=0):
    rng = np.random.default_rng(seed)
    return [Experience(rng.normal(size=4).astype(np.float32), int(rng.integers(2)), 1.0,
                       rng.normal(size=4).astype(np.float32), bool(i % 5 == 4))
            for i in range(count)]


def test_update_fits_q_learning_targets(monkeypatch):
    set_seed(0)
    agent = ValueFunctionAgent(0.1, [0, 1])
    batch = experiences()
    agent.initialize(batch)
    seen = {}
    estimator = agent.model.named_steps["estimator"]
    monkeypatch.setattr(estimator, "partial_fit", lambda x, y: seen.update(x=x, y=y))
    before = agent._predict([e.s for e in batch])
    future = agent._predict([e.n_s for e in batch]).max(axis=1)
    agent.update(batch, gamma=0.9)
    for i, e in enumerate(batch):
        target = e.r + (0.0 if e.d else 0.9 * future[i])
        assert seen["y"][i, e.a] == pytest.approx(target)
        assert seen["y"][i, 1 - e.a] == pytest.approx(before[i, 1 - e.a])
    # The NumPy estimate is the pipeline's own prediction.
    states = np.stack([e.s for e in batch])
    np.testing.assert_allclose(agent._predict(states), agent.model.predict(states), rtol=1e-5,
                               atol=1e-6)


def test_save_and_load_round_trip_predictions_exactly(tmp_path):
    set_seed(0)
    agent = ValueFunctionAgent(0.1, [0, 1])
    agent.initialize(experiences())
    agent.update(experiences(seed=1), 0.9)
    path = agent.save(tmp_path / "vf.pkl")
    loaded = ValueFunctionAgent.load(CartPoleObserver(gym.make("CartPole-v1")), path)
    states = np.stack([e.s for e in experiences(seed=2)])
    assert np.array_equal(loaded._predict(states), agent._predict(states))


def test_main_trains_saves_and_plays(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RL_BOOK_OUTPUT_DIR", str(tmp_path))
    with pytest.raises(SystemExit) as error:
        value_function_agent.main(["--play"])
    assert error.value.code == 2
    with pytest.raises(SystemExit):
        value_function_agent.main(["--episodes", "0"])
    rewards = value_function_agent.main(["--episodes", "60", "--no-show"])
    assert len(rewards) == 60
    folder = tmp_path / "FN" / "value_function_agent"
    assert (folder / "value_function_agent.pkl").is_file()
    assert (folder / "rewards_history.png").is_file()
    assert len(value_function_agent.main(["--play"])) == 5
