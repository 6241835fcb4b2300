"""EL's learners: the book's defaults, and an end that is also a start.

Found by mutation testing. On FrozenLake a hole or the goal is never acted from, so its
values stay 0 and a learner that bootstrapped past the end of an episode would still pass.
``Loop`` ends every episode in the state it starts from, which has values of its own: only
a learner that stops at ``terminated`` keeps them at the one reward that really follows.
"""

import contextlib
import io

from common import set_seed

import gymnasium as gym
import numpy as np
import pytest

from EL.actor_critic import Actor, ActorCritic, Critic
from EL.monte_carlo import MonteCarloAgent
from EL.n_step_sarsa import NStepSARSAAgent
from EL.q_learning import QLearningAgent
from EL.sarsa import SARSAAgent
from envs.frozen_lake import make_frozen_lake


class Loop(gym.Env):
    """One state, two actions: every step pays 1 and ends the episode, back where it began."""

    observation_space = gym.spaces.Discrete(1)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return 0, {}

    def step(self, action):
        return 0, 1.0, True, False, {}


def learn_q_learning(env, **kwargs):
    agent = QLearningAgent()
    agent.learn(env, **kwargs)
    return agent.Q, agent.reward_log


def learn_sarsa(env, **kwargs):
    agent = SARSAAgent()
    agent.learn(env, **kwargs)
    return agent.Q, agent.reward_log


def learn_monte_carlo(env, **kwargs):
    agent = MonteCarloAgent()
    agent.learn(env, **kwargs)
    return agent.Q, agent.reward_log


def learn_actor_critic(env, **kwargs):
    actor, critic = ActorCritic(Actor, Critic).train(env, **kwargs)
    return np.concatenate([actor.Q, critic.V[:, None]], axis=1), actor.reward_log


def learn_n_step_sarsa(env, **kwargs):
    agent = NStepSARSAAgent()
    agent.learn(env, **kwargs)
    return agent.Q, agent.reward_log


LEARNERS = [learn_q_learning, learn_sarsa, learn_monte_carlo, learn_actor_critic,
            learn_n_step_sarsa]
BOOK_DEFAULTS = {"episode_count": 1000, "gamma": 0.9, "render": False, "report_interval": 50}


def run(learn, env, seed, **kwargs):
    set_seed(seed, env)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        table, log = learn(env, **kwargs)
    return np.array(table, dtype=float), log, out.getvalue()


@pytest.mark.parametrize("learn", LEARNERS, ids=lambda f: f.__name__)
def test_the_defaults_are_the_books(learn):
    # A lake that can draw itself: with render off by default, only the report lines appear.
    env = make_frozen_lake(render_mode="ansi")
    explicit = dict(BOOK_DEFAULTS)
    if learn is not learn_monte_carlo:  # Monte Carlo's step size is 1/N, not a rate
        explicit["learning_rate"] = 0.1
    table, log, out = run(learn, env, 0)
    explicit_table, explicit_log, explicit_out = run(learn, env, 0, **explicit)
    np.testing.assert_array_equal(table, explicit_table)
    assert log == explicit_log and len(log) == 1000
    assert out == explicit_out
    assert [line.split(" average")[0] for line in out.splitlines()] == [
        f"At Episode {e}" for e in range(50, 1000, 50)]


@pytest.mark.parametrize("learn", [f for f in LEARNERS if f is not learn_monte_carlo],
                         ids=lambda f: f.__name__)
def test_the_learning_rate_given_to_learn_is_the_one_used(learn):
    # Same seed, same first episode; larger steps move the values further. (The Actor's
    # preferences start at random, so for Actor-Critic only the Critic's values count.)
    env = make_frozen_lake()
    slow, _, _ = run(learn, env, 5, episode_count=150, learning_rate=0.1)
    fast, _, _ = run(learn, env, 5, episode_count=150, learning_rate=0.5)
    if learn is learn_actor_critic:
        slow, fast = slow[:, -1], fast[:, -1]
    assert np.abs(fast).max() > np.abs(slow).max() > 0


@pytest.mark.parametrize("agent_class", [QLearningAgent, SARSAAgent, MonteCarloAgent,
                                         NStepSARSAAgent])
def test_epsilon_defaults_to_the_books(agent_class):
    assert agent_class().epsilon == 0.1


def test_n_step_sarsa_looks_four_steps_ahead_by_default():
    assert NStepSARSAAgent().n == 4


@pytest.mark.parametrize("learn", LEARNERS, ids=lambda f: f.__name__)
def test_nothing_is_bootstrapped_after_the_end_even_from_a_state_with_values(learn):
    table, log, _ = run(learn, Loop(), 1, episode_count=60, gamma=0.9)
    assert log == [1.0] * 60
    # Every value tends to the one reward that follows (for the Actor, preferences start
    # anywhere in [0, 1) and only ever move up by at most the TD error).
    values = table[0] if learn is not learn_actor_critic else table[0, -1:]
    assert values.max() <= 1.0 + 1e-9 and values.max() > 0.9


@pytest.mark.parametrize("agent_class", [QLearningAgent, SARSAAgent])
def test_update_defaults_are_the_books(agent_class):
    def updated(**kwargs):
        agent = agent_class()
        agent.Q = np.array([[0.5, 0.0], [2.0, 1.0]])
        if agent_class is QLearningAgent:
            agent.update(0, 0, 1.0, 1, False, **kwargs)
        else:
            agent.update(0, 0, 1.0, 1, 1, False, **kwargs)
        return agent.Q[0][0]

    assert updated() == updated(gamma=0.9, learning_rate=0.1)


class StepCounter(gym.Wrapper):
    def __init__(self, env):
        super().__init__(env)
        self.steps = 0

    def step(self, action):
        self.steps += 1
        return self.env.step(action)


@pytest.mark.parametrize("learn", LEARNERS, ids=lambda f: f.__name__)
def test_render_draws_the_lake_before_every_step(learn):
    env = StepCounter(make_frozen_lake(render_mode="ansi"))
    _, _, out = run(learn, env, 2, episode_count=2, render=True)
    # The ansi frame highlights the agent's cell once per drawing.
    assert env.steps > 0 and out.count("\x1b[41m") == env.steps


def test_n_step_update_defaults_are_the_books_and_the_return_is_discounted_per_step():
    # Steps (s=0, a=1, r=1), (s=1, a=0, r=0), (s=0, a=0, r=2), then a tail value of 4:
    # G = 1 + 0.9·0 + 0.81·2 + 0.729·4 = 5.536, and Q[0][1] moves 0.1 of the way from 0.5.
    agent = NStepSARSAAgent()
    agent.Q = np.array([[0.0, 0.5], [0.0, 0.0]])
    agent.update([(0, 1, 1.0), (1, 0, 0.0), (0, 0, 2.0)], 4.0)
    assert agent.Q[0][1] == pytest.approx(0.5 + 0.1 * (5.536 - 0.5))
    assert agent.Q.sum() == pytest.approx(agent.Q[0][1])  # only the oldest step moves
