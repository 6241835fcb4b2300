import random
from collections import Counter
from types import SimpleNamespace

import gymnasium as gym
import numpy as np
import pytest

from EL.el_agent import ELAgent, greedy_action
from EL.frozen_lake_util import (
    draw_q_value,
    q_value_grid,
    run_greedy,
    save_table,
    show_q_value,
)
from envs.frozen_lake import make_frozen_lake


def test_table_is_an_array_for_counted_states_and_reads_like_the_book():
    env = make_frozen_lake()
    Q = ELAgent.make_table(env)
    assert isinstance(Q, np.ndarray) and Q.shape == (16, 4) and not Q.any()
    Q[3][2] += 1.5
    assert Q[3][2] == Q[3, 2] == 1.5


def test_table_grows_on_demand_for_other_spaces():
    env = SimpleNamespace(observation_space=gym.spaces.Box(-1.0, 1.0, (2,)),
                          action_space=gym.spaces.Discrete(2))
    Q = ELAgent.make_table(env)
    Q[(0, 1)][1] += 2.0
    assert list(Q[(0, 1)]) == [0.0, 2.0]


def test_greedy_choice_is_random_among_ties_only():
    random.seed(0)
    counts = Counter(greedy_action(np.array([0.5, 0.1, 0.5, 0.5])) for _ in range(3000))
    assert set(counts) == {0, 2, 3}
    assert min(counts.values()) > 800
    assert greedy_action([0.0, 2.0, 1.0]) == 1


def test_policy_explores_with_probability_epsilon():
    random.seed(1)
    agent = ELAgent(epsilon=0.2)
    agent.Q = np.array([[0.0, 0.0, 1.0, 0.0]])
    counts = Counter(agent.policy(0, [0, 1, 2, 3]) for _ in range(20000))
    # Greedy 80% of the time, plus a quarter of the 20% spent exploring.
    assert counts[2] / 20000 == pytest.approx(0.85, abs=0.015)
    for other in (0, 1, 3):
        assert counts[other] / 20000 == pytest.approx(0.05, abs=0.01)


def test_policy_without_knowledge_picks_at_random():
    random.seed(2)
    agent = ELAgent(epsilon=0.0)
    assert {agent.policy("unseen", [0, 1, 2]) for _ in range(200)} == {0, 1, 2}


def test_reward_log_line_and_plot(capsys, tmp_path):
    agent = ELAgent(epsilon=0.1)
    agent.init_log()
    for reward in [0, 1, 1, 1, 0, 1]:
        agent.log(reward)
    agent.show_reward_log(interval=4, episode=6)
    assert capsys.readouterr().out == "At Episode 6 average reward is 0.75 (+/-0.433).\n"
    path = agent.show_reward_log(interval=2, path=tmp_path / "history.png", show=False)
    assert path.stat().st_size > 0


def test_q_value_grid_places_each_action_on_a_non_square_map():
    nrow, ncol = 2, 3
    Q = np.arange(nrow * ncol * 4, dtype=float).reshape(nrow * ncol, 4)
    grid = q_value_grid(Q, nrow, ncol)
    assert grid.shape == (6, 9)
    for s in range(nrow * ncol):
        row, col = divmod(s, ncol)
        r, c = 3 * row + 1, 3 * col + 1
        left, down, right, up = Q[s]
        assert grid[r - 1, c] == up
        assert grid[r + 1, c] == down
        assert grid[r, c - 1] == left
        assert grid[r, c + 1] == right
        assert grid[r, c] == Q[s].mean()
        for dr, dc in [(-1, -1), (-1, 1), (1, -1), (1, 1)]:
            assert grid[r + dr, c + dc] == 0


def test_q_value_grid_leaves_unvisited_states_blank():
    grid = q_value_grid({1: [1.0, 2.0, 3.0, 4.0]}, 1, 2)
    assert not grid[:, :3].any()
    assert grid[1, 4] == 2.5


def test_show_q_value_on_a_non_square_lake(tmp_path):
    env = gym.make("FrozenLake-v1", desc=["SFFFF", "FHFHF", "FFFFG"], is_slippery=False)
    Q = np.random.default_rng(0).normal(size=(15, 4))
    path = show_q_value(Q, env=env, title="3x5", path=tmp_path / "q.png", show=False)
    assert path.stat().st_size > 0
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    image = draw_q_value(ax, Q, 3, 5)
    assert image.get_array().shape == (9, 15)
    assert image.get_clim() == (-np.abs(Q).max(), np.abs(Q).max())
    plt.close(fig)


def test_run_greedy_follows_the_table():
    env = make_frozen_lake()
    Q = np.zeros((16, 4))
    for s in (0, 1, 2):
        Q[s][2] = 1.0  # RIGHT along the top row
    for s in (3, 7):
        Q[s][1] = 1.0  # DOWN ... into the hole at 7
    total, states = run_greedy(env, Q)
    assert states == [0, 1, 2, 3, 7] and total == 0.0
    Q[2] = [0, 1, 0, 0]
    for s in (6, 10):
        Q[s] = [0, 1, 0, 0]
    Q[14] = [0, 0, 1, 0]
    total, states = run_greedy(env, Q)
    assert states == [0, 1, 2, 6, 10, 14, 15] and total == 1.0


def test_save_table_round_trips(tmp_path):
    Q = np.arange(8.0).reshape(2, 4)
    path = save_table(tmp_path / "t.npz", Q=Q, V=Q[:, 0])
    with np.load(path) as data:
        np.testing.assert_array_equal(data["Q"], Q)
        np.testing.assert_array_equal(data["V"], [0.0, 4.0])


def test_ctrl_c_keeps_what_was_learned(capsys):
    from EL.frozen_lake_util import keep_on_interrupt
    from EL.q_learning import QLearningAgent

    class Interrupting(gym.Wrapper):
        steps = 0

        def step(self, action):
            self.steps += 1
            if self.steps > 300:
                raise KeyboardInterrupt
            return self.env.step(action)

    agent = QLearningAgent()
    env = Interrupting(make_frozen_lake())
    env.reset(seed=0)
    with keep_on_interrupt():
        agent.learn(env, episode_count=10_000)
    assert "中断しました" in capsys.readouterr().out
    assert 0 < len(agent.reward_log) < 300 and agent.Q.shape == (16, 4)
