"""The names the book prints in EL/: the module-level ``train()`` and ``CompareAgent``."""

import random

import numpy as np
import pytest

from EL import actor_critic, compare_q_s, monte_carlo, q_learning, sarsa
from EL.compare_q_s import CompareAgent, make_env
from EL.q_learning import QLearningAgent
from EL.sarsa import SARSAAgent


@pytest.mark.parametrize("script", [monte_carlo, q_learning, sarsa, actor_critic],
                         ids=lambda m: m.__name__)
def test_train_is_what_main_runs(script, capsys):
    by_train = script.train(episode_count=40, seed=5, show=False)
    by_main = script.main(["--episodes", "40", "--seed", "5", "--no-show"])
    capsys.readouterr()
    if script is actor_critic:  # (actor, critic)
        np.testing.assert_array_equal(by_train[1].V, by_main[1].V)
        by_train, by_main = by_train[0], by_main[0]
    np.testing.assert_array_equal(by_train.Q, by_main.Q)
    assert by_train.reward_log == by_main.reward_log


@pytest.mark.parametrize("q_learning, learner", [(True, QLearningAgent), (False, SARSAAgent)])
def test_compare_agent_learns_as_q_learning_or_sarsa(q_learning, learner, capsys):
    tables = []
    for agent in (CompareAgent(q_learning=q_learning), learner(epsilon=0.33)):
        env = make_env()
        env.reset(seed=2)
        random.seed(2)
        agent.learn(env, episode_count=150)
        tables.append((np.asarray(agent.Q), agent.reward_log))
    capsys.readouterr()
    np.testing.assert_array_equal(tables[0][0], tables[1][0])
    assert tables[0][1] == tables[1][1] and len(tables[0][1]) == 150


def test_the_comparison_trains_each_compare_agent():
    Q, rewards, report = compare_q_s.train(q_learning=False, episode_count=30, seed=1)
    assert Q.shape == (16, 4) and rewards.shape == (30,) and report == ""
