import contextlib
import io

from common import set_seed

import gymnasium as gym
import numpy as np
import pytest

from EL.actor_critic import Actor, ActorCritic, Critic
from EL.frozen_lake_util import run_greedy
from EL.monte_carlo import MonteCarloAgent
from EL.q_learning import QLearningAgent
from EL.sarsa import SARSAAgent
from envs.frozen_lake import make_frozen_lake
from tests.learning_margins import learning_seeds


class Chain(gym.Env):
    """Walks ``path`` whatever the action; its last state ends the episode (``terminated``).

    The final step pays ``rewards[k % len(rewards)]`` in the k-th episode; others pay 0.
    ``limits[k % len(limits)]`` is the k-th episode's time limit (None: none): when it runs out
    before the end, the episode is cut short (``truncated``), although the chain goes on.
    """

    observation_space = gym.spaces.Discrete(3)
    action_space = gym.spaces.Discrete(1)

    def __init__(self, path=(0, 1, 2), rewards=(1.0,), limits=(None,)):
        self.path, self.rewards, self.limits = path, rewards, limits
        self.episodes = -1

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.episodes += 1
        self.t = 0
        return self.path[0], {}

    def step(self, action):
        self.t += 1
        end = self.t == len(self.path) - 1
        reward = self.rewards[self.episodes % len(self.rewards)] if end else 0.0
        limit = self.limits[self.episodes % len(self.limits)]
        truncated = not end and limit is not None and self.t >= limit
        return self.path[self.t], reward, end, truncated, {}


def quietly(function, *args, **kwargs):
    with contextlib.redirect_stdout(io.StringIO()):
        return function(*args, **kwargs)


def learned_lake(seed, learn):
    env = make_frozen_lake()
    set_seed(seed, env)
    table = quietly(learn, env)
    return env, table


def q_learning(env):
    agent = QLearningAgent()
    agent.learn(env)  # the book's default: 1000 episodes
    return agent.Q


def sarsa(env):
    agent = SARSAAgent()
    agent.learn(env)
    return agent.Q


def monte_carlo(env):
    agent = MonteCarloAgent()
    agent.learn(env)
    return agent.Q


def actor_critic(env):
    actor, _ = ActorCritic(Actor, Critic).train(env, episode_count=3000)  # as the book's main
    return actor.Q


@pytest.mark.parametrize("learn", [q_learning, sarsa, monte_carlo, actor_critic])
@pytest.mark.parametrize("seed", learning_seeds(0, 1, 2, 3, 4))
@pytest.mark.learning
def test_greedy_policy_reaches_the_goal_after_learning(learn, seed, margin):
    env, table = learned_lake(seed, learn)
    assert table.shape == (16, 4)
    total, states = run_greedy(env, table, max_steps=100)
    margin("greedy return", total, above=0.5)
    assert states[0] == 0 and states[-1] == 15


@pytest.mark.parametrize("learn", [q_learning, monte_carlo, actor_critic])
def test_same_seed_same_table(learn):
    _, first = learned_lake(7, learn)
    _, second = learned_lake(7, learn)
    np.testing.assert_array_equal(first, second)


def test_q_learning_update_by_hand():
    agent = QLearningAgent()
    agent.Q = np.zeros((3, 2))
    agent.Q[0] = [0.5, -0.2]
    agent.Q[1] = [0.3, 0.8]
    agent.update(0, 1, reward=0.25, n_state=1, terminated=False, gamma=0.9, learning_rate=0.1)
    # -0.2 + 0.1 * (0.25 + 0.9 * max(0.3, 0.8) - (-0.2))
    assert agent.Q[0][1] == pytest.approx(-0.2 + 0.1 * (0.25 + 0.72 + 0.2), abs=1e-15)
    assert agent.Q[0][0] == 0.5 and list(agent.Q[1]) == [0.3, 0.8]


def test_q_learning_update_ignores_values_after_the_end():
    agent = QLearningAgent()
    agent.Q = np.array([[0.0, 0.4], [5.0, 5.0]])
    agent.update(0, 1, reward=1.0, n_state=1, terminated=True, gamma=0.9, learning_rate=0.5)
    assert agent.Q[0][1] == pytest.approx(0.4 + 0.5 * (1.0 - 0.4), abs=1e-15)


def test_sarsa_update_by_hand_uses_the_chosen_next_action():
    agent = SARSAAgent()
    agent.Q = np.zeros((3, 2))
    agent.Q[0] = [0.5, -0.2]
    agent.Q[1] = [0.3, 0.8]
    agent.update(0, 1, reward=0.25, n_state=1, n_action=0, terminated=False,
                 gamma=0.9, learning_rate=0.1)
    # The next action taken is 0, worth 0.3; Q-learning would have used 0.8.
    assert agent.Q[0][1] == pytest.approx(-0.2 + 0.1 * (0.25 + 0.27 + 0.2), abs=1e-15)
    agent.update(1, 1, reward=1.0, n_state=2, n_action=0, terminated=True,
                 gamma=0.9, learning_rate=0.1)
    assert agent.Q[1][1] == pytest.approx(0.8 + 0.1 * (1.0 - 0.8), abs=1e-15)


@pytest.mark.parametrize("agent_class", [QLearningAgent, SARSAAgent])
def test_td_learning_on_a_chain_by_hand(agent_class):
    agent = agent_class(epsilon=0.0)
    quietly(agent.learn, Chain(), episode_count=2, gamma=0.9, learning_rate=0.5)
    # Episode 1: Q[0] += .5 (0 + .9 * 0 - 0) = 0; Q[1] += .5 (1 - 0) = .5.
    # Episode 2: Q[0] += .5 (0 + .9 * .5 - 0) = .225; Q[1] += .5 (1 - .5) = .75.
    np.testing.assert_allclose(agent.Q[:, 0], [0.225, 0.75, 0.0])
    assert agent.reward_log == [1.0, 1.0]


def test_monte_carlo_averages_every_visit_discounted_return():
    agent = MonteCarloAgent(epsilon=0.0)
    env = Chain(path=(0, 0, 1, 2), rewards=(1.0, 0.0, 1.0))
    quietly(agent.learn, env, episode_count=3, gamma=0.5)
    # Each episode visits 0 twice (returns R/4 and R/2) and 1 once (return R), R = 1, 0, 1.
    # Every visit counts, each with weight 1/N: Q[0] = (1/4 + 1/2) * 2 / 6, Q[1] = 2 / 3.
    np.testing.assert_allclose(agent.Q[:, 0], [0.25, 2 / 3, 0.0])
    assert agent.reward_log == [1.0, 0.0, 1.0]


def test_actor_critic_step_by_hand():
    np.random.seed(0)
    actor, critic = quietly(ActorCritic(Actor, Critic).train, Chain(), episode_count=1,
                            gamma=0.9, learning_rate=0.1)
    np.random.seed(0)
    initial = np.random.uniform(0, 1, (3, 1))
    # From 0: td = 0 + .9 * V[1] - V[0] = 0. From 1: td = 1 - V[1] = 1 (2 is the end).
    np.testing.assert_allclose(critic.V, [0.0, 0.1, 0.0])
    np.testing.assert_allclose(actor.Q[:, 0], initial[:, 0] + [0.0, 0.1, 0.0])


def test_actor_samples_from_the_softmax():
    set_seed(0)
    actor = Actor(make_frozen_lake())
    actor.Q[0] = [0.0, np.log(3.0), 0.0, 0.0]
    probs = actor.softmax(actor.Q[0])
    np.testing.assert_allclose(probs, [1 / 6, 1 / 2, 1 / 6, 1 / 6])
    draws = np.array([actor.policy(0) for _ in range(12000)])
    np.testing.assert_allclose(np.bincount(draws, minlength=4) / 12000, probs, atol=0.015)
    assert np.isfinite(actor.softmax([1000.0, 0.0])).all()


class StepCounter(gym.Wrapper):
    def __init__(self, env):
        super().__init__(env)
        self.steps = 0

    def step(self, action):
        self.steps += 1
        return self.env.step(action)


def test_render_prints_a_text_frame_before_every_step(capsys):
    env = StepCounter(make_frozen_lake(render_mode="ansi"))
    set_seed(0, env)
    QLearningAgent().learn(env, episode_count=2, render=True)
    out = capsys.readouterr().out
    # The ansi frame highlights the agent's cell once per drawing.
    assert env.steps > 0 and out.count("\x1b[41m") == env.steps


# Termination vs truncation. Episode 1 walks the whole chain 0 → 1 → 2 (the end, reward 1) and
# so learns a value for state 1. Episode 2 is cut by a time limit after one step, at state 1.
# The chain goes on from there, so the update of state 0 must still look ahead to state 1.
# Treating the cut as the end of the world (``terminated or truncated``) would leave it at 0.
CUT_CHAIN = {"limits": (None, 1)}


@pytest.mark.parametrize("agent_class", [QLearningAgent, SARSAAgent])
def test_td_learning_bootstraps_through_a_time_limit(agent_class):
    agent = agent_class(epsilon=0.0)
    env = Chain(**CUT_CHAIN)
    quietly(agent.learn, env, episode_count=2, gamma=0.9, learning_rate=0.5)
    # Episode 1: Q[1] = .5 (1 − 0) = .5; Q[0] stays 0 (Q[1] was still 0).
    # Episode 2, cut at 1: Q[0] += .5 (0 + .9 · .5 − 0) = .225.
    np.testing.assert_allclose(agent.Q[:, 0], [0.225, 0.5, 0.0])
    assert env.episodes == 1 and agent.reward_log == [1.0, 0.0]


def test_monte_carlo_continues_a_cut_episode_with_its_estimate():
    agent = MonteCarloAgent(epsilon=0.0)
    env = Chain(**CUT_CHAIN)
    quietly(agent.learn, env, episode_count=2, gamma=0.5)
    # Episode 1: returns 0.5 from 0 and 1 from 1. Episode 2 is cut at 1, so its return from 0
    # is 0 + .5 · Q[1] = .5 (not 0, as if nothing followed): Q[0] = mean(.5, .5).
    np.testing.assert_allclose(agent.Q[:, 0], [0.5, 1.0, 0.0])
    assert env.episodes == 1 and agent.reward_log == [1.0, 0.0]


def test_actor_critic_bootstraps_through_a_time_limit():
    np.random.seed(0)
    env = Chain(**CUT_CHAIN)
    actor, critic = quietly(ActorCritic(Actor, Critic).train, env, episode_count=2,
                            gamma=0.9, learning_rate=0.1)
    np.random.seed(0)
    initial = np.random.uniform(0, 1, (3, 1))
    # Episode 1: td(0) = 0, td(1) = 1 − 0 = 1, so V[1] = .1. Episode 2, cut at 1:
    # td(0) = 0 + .9 · V[1] − V[0] = .09, so V[0] = .009 and the Actor's Q[0] moves as much.
    np.testing.assert_allclose(critic.V, [0.009, 0.1, 0.0])
    np.testing.assert_allclose(actor.Q[:, 0], initial[:, 0] + [0.009, 0.1, 0.0])
    assert env.episodes == 1 and actor.reward_log == [1.0, 0.0]
