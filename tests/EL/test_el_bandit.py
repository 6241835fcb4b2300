import json
import random
from pathlib import Path

from common import output_dir, set_seed

import numpy as np
import pytest

from EL import epsilon_greedy
from EL.epsilon_greedy import (
    HEAD_PROBS,
    CoinToss,
    EpsilonGreedyAgent,
    UCB1Agent,
    average_rewards,
)
from tests.learning_margins import learning_seeds


def test_coin_toss_ends_on_the_last_toss_and_refuses_more():
    env = CoinToss([0.0, 1.0], max_episode_steps=3)
    assert len(env) == 2
    assert env.step(1) == (1.0, False)
    assert env.step(0) == (0.0, False)
    assert env.step(1) == (1.0, True)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(1)
    env.reset()
    assert env.step(1) == (1.0, False)


@pytest.mark.parametrize("coin", [2, 5, -1])
def test_coin_toss_refuses_a_coin_that_does_not_exist(coin):
    env = CoinToss([0.5, 0.5])
    with pytest.raises(IndexError, match=f"coin {coin} does not exist"):
        env.step(coin)
    # A refused toss does not use up the game.
    assert env.toss_count == 0


@pytest.mark.parametrize("probs", [[], [0.5, 1.5], [-0.1]])
def test_coin_toss_refuses_bad_probabilities(probs):
    with pytest.raises(ValueError):
        CoinToss(probs)


class RecordingCoinToss(CoinToss):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.tosses = []

    def step(self, action):
        reward, done = super().step(action)
        self.tosses.append((action, reward))
        return reward, done


@pytest.mark.parametrize("agent", [EpsilonGreedyAgent(0.3), UCB1Agent()])
def test_estimates_are_the_mean_reward_of_each_coin(agent):
    random.seed(3)
    env = RecordingCoinToss(HEAD_PROBS, max_episode_steps=200)
    rewards = agent.play(env)
    assert len(rewards) == 200
    assert [r for _, r in env.tosses] == rewards
    for coin in range(len(env)):
        seen = [r for c, r in env.tosses if c == coin]
        expected = np.mean(seen) if seen else 0.0
        assert agent.V[coin] == pytest.approx(expected)


def test_greedy_agent_exploits_the_best_estimate():
    agent = EpsilonGreedyAgent(epsilon=0.0)
    agent.V = [0.2, 0.7, 0.7, 0.1]
    assert agent.policy() == 1


@pytest.mark.parametrize("seed", learning_seeds(0))
@pytest.mark.learning
def test_a_little_exploration_beats_none_and_too_much(seed, margin):
    set_seed(seed)
    env = CoinToss(HEAD_PROBS)
    mean = {e: average_rewards(EpsilonGreedyAgent(e), env, [300], runs=100)[0]
            for e in (0.0, 0.1, 0.8)}
    margin("ε = 0.1 over ε = 0", mean[0.1] - mean[0.0], above=0.2)
    margin("ε = 0.1 over ε = 0.8", mean[0.1] - mean[0.8], above=0.1)
    ucb = average_rewards(UCB1Agent(), env, [300], runs=100)[0]
    margin("UCB1 over ε = 0", ucb - mean[0.0], above=0.2)


def test_main_plots_every_agent(capsys):
    result = epsilon_greedy.main(["--runs", "2", "--seed", "1", "--no-show"])
    assert list(result.columns) == [f"epsilon={e}" for e in epsilon_greedy.EPSILONS] + ["UCB1"]
    assert list(result.index) == epsilon_greedy.GAME_STEPS
    assert ((result >= 0) & (result <= 1)).all().all()
    out = capsys.readouterr().out
    (line,) = [line for line in out.splitlines() if line.startswith("Saved ")]
    path = Path(line.removeprefix("Saved "))
    # The plot goes into a new run folder of its own, never over an earlier run's plot.
    assert path.name == "epsilon_greedy.png" and path.stat().st_size > 0
    assert path.parent.parent == output_dir(epsilon_greedy.__file__)
    assert json.loads((path.parent / "run.json").read_text())["status"] == "finished"


def test_main_rejects_zero_runs(capsys):
    with pytest.raises(SystemExit) as exit_info:
        epsilon_greedy.main(["--runs", "0", "--no-show"])
    assert exit_info.value.code == 2
    assert "--runs" in capsys.readouterr().err
