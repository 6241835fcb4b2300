"""The rest of the book's Day3 table, n-step SARSA and SARSA(λ): results, hand checks, scripts."""

import contextlib
import io
import json
from pathlib import Path

from common import output_dir, set_seed

import gymnasium as gym
import numpy as np
import pytest

from EL import (
    actor_critic_off_policy,
    monte_carlo_off_policy,
    monte_carlo_on_policy,
    n_step_sarsa,
    sarsa_lambda,
)
from EL.actor_critic import Actor, Critic
from EL.actor_critic_off_policy import OffPolicyActorCritic
from EL.frozen_lake_util import run_greedy
from EL.monte_carlo_off_policy import OffPolicyMonteCarloAgent
from EL.monte_carlo_on_policy import OnPolicyMonteCarloAgent, epsilon_greedy_probabilities
from EL.n_step_sarsa import NStepSARSAAgent
from EL.sarsa import SARSAAgent
from EL.sarsa_lambda import SARSALambdaAgent
from envs.frozen_lake import make_frozen_lake
from tests.learning_margins import learning_seeds


def quietly(function, *args, **kwargs):
    with contextlib.redirect_stdout(io.StringIO()):
        return function(*args, **kwargs)


# ------------------------------------------------------------------------------------------
# Small worlds with answers that can be worked out by hand
# ------------------------------------------------------------------------------------------

class Chain(gym.Env):
    """Walks ``path`` whatever the (single) action; the last state ends with ``reward``."""

    observation_space = gym.spaces.Discrete(3)
    action_space = gym.spaces.Discrete(1)

    def __init__(self, path=(0, 1, 2), reward=1.0):
        self.path, self.reward = path, reward

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self.path[0], {}

    def step(self, action):
        self.t += 1
        end = self.t == len(self.path) - 1
        return self.path[self.t], self.reward if end else 0.0, end, False, {}


class CutChain(gym.Env):
    """0 → 1 → 2 whatever the action. Episode 0 reaches 2 (reward 1, terminated). Episode 1
    is stopped at 1 after one step: by a time limit (``truncated``), or, with
    ``cut_is_end``, as if 1 were an end (``terminated``): what the bug ``done =
    terminated or truncated`` would make of the time limit.
    """

    observation_space = gym.spaces.Discrete(3)
    action_space = gym.spaces.Discrete(1)

    def __init__(self, cut_is_end=False):
        self.cut_is_end = cut_is_end
        self.episodes = -1

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.episodes += 1
        self.t = 0
        return 0, {}

    def step(self, action):
        self.t += 1
        if self.episodes == 1:
            return 1, 0.0, self.cut_is_end, not self.cut_is_end, {}
        end = self.t == 2
        return self.t, float(end), end, False, {}


class TwoStep(gym.Env):
    """A tiny MDP with a known answer for off-policy prediction (state 2 is the end).

    State 0: action 0 goes to state 1 (reward 0); action 1 ends with reward 1.
    State 1: action 0 ends with reward 2 or 0 (even odds); action 1 ends with reward −1.
    """

    observation_space = gym.spaces.Discrete(3)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.s = 0
        return 0, {}

    def step(self, action):
        if self.s == 0 and action == 0:
            self.s = 1
            return 1, 0.0, False, False, {}
        if self.s == 0:
            reward = 1.0
        elif action == 0:
            reward = 2.0 * float(self.np_random.random() < 0.5)
        else:
            reward = -1.0
        return 2, reward, True, False, {}


# ------------------------------------------------------------------------------------------
# Each new learner learns the lake
# ------------------------------------------------------------------------------------------

def on_policy_mc(env):
    agent = OnPolicyMonteCarloAgent()
    agent.learn(env, episode_count=500)
    return agent.Q


def off_policy_mc(env):
    agent = OffPolicyMonteCarloAgent()
    agent.learn(env, episode_count=500)
    return agent.Q


def off_policy_ac(env):
    actor, _ = OffPolicyActorCritic(Actor, Critic).train(env, episode_count=3000)
    return actor.Q


def n_step(env):
    agent = NStepSARSAAgent(n=4)
    agent.learn(env, episode_count=500)
    return agent.Q


def sarsa_lambda_(env):
    agent = SARSALambdaAgent(lambda_=0.8)
    agent.learn(env, episode_count=500)
    return agent.Q


LEARNERS = [on_policy_mc, off_policy_mc, off_policy_ac, n_step, sarsa_lambda_]


@pytest.mark.parametrize("learn", LEARNERS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("seed", learning_seeds(0, 1, 2, 3, 4))
@pytest.mark.learning
def test_greedy_policy_reaches_the_goal_after_learning(learn, seed, margin):
    env = make_frozen_lake()
    set_seed(seed, env)
    table = quietly(learn, env)
    assert table.shape == (16, 4)
    total, states = run_greedy(env, table)
    margin("greedy return", total, above=0.5)
    assert states[0] == 0 and states[-1] == 15


# ------------------------------------------------------------------------------------------
# A time limit is not an end (gymnasium's truncated); the bug `done = terminated or
# truncated` in the update would make the two CutChains learn the same numbers.
# ------------------------------------------------------------------------------------------

def cut_chain_values(learner, cut_is_end):
    """What ``learner`` has for state 0 after the two episodes of ``CutChain``."""
    env = CutChain(cut_is_end)
    set_seed(0)
    return learner(env)


def first_value_on_policy_mc(env):
    agent = OnPolicyMonteCarloAgent()
    quietly(agent.learn, env, episode_count=2, gamma=0.9)
    return agent.Q[0][0]


def first_value_off_policy_mc(env):
    agent = OffPolicyMonteCarloAgent()
    quietly(agent.learn, env, episode_count=2, gamma=0.9)
    return agent.Q[0][0]


def first_value_off_policy_ac(env):
    _, critic = quietly(OffPolicyActorCritic(Actor, Critic).train, env, episode_count=2,
                        gamma=0.9, learning_rate=0.5)
    return critic.V[0]


def first_value_n_step(env):
    agent = NStepSARSAAgent(n=4)
    quietly(agent.learn, env, episode_count=2, gamma=0.9, learning_rate=0.5)
    return agent.Q[0][0]


def first_value_sarsa_lambda(env):
    agent = SARSALambdaAgent(lambda_=0.8)
    quietly(agent.learn, env, episode_count=2, gamma=0.9, learning_rate=0.5)
    return agent.Q[0][0]


@pytest.mark.parametrize("learner, after_time_limit, after_end", [
    # Episode 0 gives Q(1) = 1 and Q(0) = γ = 0.9 (averages of returns). Episode 1 is cut at
    # 1: its return continues with V(1) = 1, so Q(0) stays 0.9; an end there would give 0.
    (first_value_on_policy_mc, 0.9, 0.45),
    (first_value_off_policy_mc, 0.9, 0.45),
    # TD with α = 0.5: episode 0 gives V(1) = 0.5; the cut step then targets 0.9 · 0.5.
    (first_value_off_policy_ac, 0.225, 0.0),
    # 4 steps > the episode: episode 0 gives Q(0) = 0.5 · 0.9, Q(1) = 0.5; the cut step's
    # target is 0.9 · Q(1) = 0.45 = Q(0), so Q(0) stays.
    (first_value_n_step, 0.45, 0.225),
    # Episode 0: the trace of (0) is γλ = 0.72 when the reward comes: Q(0) = 0.36, Q(1) = 0.5.
    # Episode 1: δ = 0.9 · 0.5 − 0.36 = 0.09, so Q(0) = 0.405 (0.18 if 1 were an end).
    (first_value_sarsa_lambda, 0.405, 0.18),
], ids=lambda x: getattr(x, "__name__", ""))
def test_a_time_limit_is_not_an_end(learner, after_time_limit, after_end):
    assert cut_chain_values(learner, cut_is_end=False) == pytest.approx(after_time_limit)
    assert cut_chain_values(learner, cut_is_end=True) == pytest.approx(after_end)


# ------------------------------------------------------------------------------------------
# On-policy Monte Carlo
# ------------------------------------------------------------------------------------------

def test_epsilon_greedy_probabilities_share_the_best_part_among_ties():
    np.testing.assert_allclose(epsilon_greedy_probabilities([0.0, 2.0, 1.0, 2.0], 0.2),
                               [0.05, 0.45, 0.05, 0.45])
    np.testing.assert_allclose(epsilon_greedy_probabilities([3.0, 1.0], 0.0), [1.0, 0.0])


def test_on_policy_monte_carlo_averages_first_visits_only():
    agent = OnPolicyMonteCarloAgent(epsilon=0.0)
    quietly(agent.learn, Chain(path=(0, 0, 1, 2)), episode_count=3, gamma=0.5)
    # State 0 is visited twice per episode, with returns 1/4 and 1/2; only the first counts
    # (every-visit Monte Carlo would give 3/8). State 1 always sees the reward itself.
    np.testing.assert_allclose(agent.Q[:, 0], [0.25, 1.0, 0.0])


def test_on_policy_monte_carlo_keeps_an_epsilon_soft_policy_greedy_on_q():
    env = make_frozen_lake()
    set_seed(0, env)
    agent = OnPolicyMonteCarloAgent(epsilon=0.2)
    quietly(agent.learn, env, episode_count=200)
    np.testing.assert_allclose(agent.pi.sum(axis=1), 1.0)
    assert agent.pi.min() >= 0.2 / 4 - 1e-12  # ε-soft: every action keeps ε/|A|
    for s in range(16):  # unvisited states stay uniform, which is ε-greedy on Q = 0 too
        np.testing.assert_allclose(agent.pi[s], epsilon_greedy_probabilities(agent.Q[s], 0.2))
    # The agent acts by sampling π, so a state's action frequencies follow its row.
    agent.pi[0] = [0.1, 0.6, 0.1, 0.2]
    draws = [agent.policy(0, [0, 1, 2, 3]) for _ in range(8000)]
    np.testing.assert_allclose(np.bincount(draws, minlength=4) / 8000, agent.pi[0], atol=0.02)


# ------------------------------------------------------------------------------------------
# Off-policy Monte Carlo
# ------------------------------------------------------------------------------------------

def test_weighted_importance_sampling_estimates_the_target_policys_value():
    env = TwoStep()
    set_seed(0, env)
    target = np.array([[1.0, 0.0], [0.75, 0.25], [0.5, 0.5]])
    behaviour = np.full((3, 2), 0.5)
    gamma = 0.9
    Q = OffPolicyMonteCarloAgent().estimate(env, target, behaviour, episode_count=20000,
                                            gamma=gamma)
    # Exact values of the target: Q(1, ·) = (1, −1); V(1) = 0.75 − 0.25 = 0.5;
    # Q(0, 0) = γ V(1) = 0.45; Q(0, 1) = 1; V(0) = Q(0, 0) = 0.45.
    np.testing.assert_allclose(Q[1], [1.0, -1.0], atol=0.03)
    np.testing.assert_allclose(Q[0], [gamma * 0.5, 1.0], atol=0.03)
    assert target[0] @ Q[0] == pytest.approx(0.45, abs=0.03)
    # Without the weights, (0, 0) would get the behaviour's value: γ (0.5 · 1 − 0.5 · 1) = 0.
    assert Q[0][0] > 0.35


def test_the_weighted_pass_stops_at_an_action_the_target_never_takes():
    agent = OffPolicyMonteCarloAgent()
    agent.Q = np.zeros((3, 2))
    agent.C = np.zeros((3, 2))
    target = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])  # deterministic: 0, 1, 0
    # The behaviour took 0 in state 0 (the target's choice), 0 in state 1 (never the
    # target's) and 0 in state 2, each with probability 0.5; the last step paid 1.
    agent.update([(0, 0, 0.0, 0.5), (1, 0, 0.0, 0.5), (2, 0, 1.0, 0.5)],
                 lambda s: target[s], gamma=1.0)
    # (2, 0) gets weight 1; the step before it weight π/b = 1 / 0.5 = 2. Then π(0|1) = 0
    # ends the pass: state 0 learns nothing from this episode.
    np.testing.assert_allclose(agent.Q, [[0, 0], [1, 0], [1, 0]])
    np.testing.assert_allclose(agent.C, [[0, 0], [2, 0], [1, 0]])
    # A second episode, as the target would play it, returns 3: (2, 0) becomes the average
    # of 1 and 3 with equal weights, and (1, 1) gets its first return with weight 2.
    agent.update([(1, 1, 0.0, 0.5), (2, 0, 3.0, 0.5)], lambda s: target[s], gamma=1.0)
    assert agent.C[2][0] == 2.0 and agent.Q[2][0] == 2.0
    assert agent.C[1][1] == 2.0 and agent.Q[1][1] == 3.0


# ------------------------------------------------------------------------------------------
# Off-policy Actor-Critic
# ------------------------------------------------------------------------------------------

def test_off_policy_actor_critic_weights_each_step_by_pi_over_b():
    set_seed(0)
    actor = Actor(make_frozen_lake())
    actor.Q[0] = [0.0, np.log(3.0), 0.0, 0.0]  # π(·|0) = (1/6, 1/2, 1/6, 1/6)
    trainer = OffPolicyActorCritic(Actor, Critic, epsilon=0.5)
    draws = [trainer.behave(actor, 0) for _ in range(12000)]
    actions = np.array([a for a, _ in draws])
    pi = np.array([1 / 6, 1 / 2, 1 / 6, 1 / 6])
    b = 0.5 * pi + 0.5 / 4
    np.testing.assert_allclose(np.bincount(actions, minlength=4) / 12000, b, atol=0.015)
    for a, rho in draws[:50]:
        assert rho == pytest.approx(pi[a] / b[a])


def test_off_policy_actor_critic_step_by_hand():
    np.random.seed(0)
    actor, critic = quietly(OffPolicyActorCritic(Actor, Critic).train, Chain(),
                            episode_count=1, gamma=0.9, learning_rate=0.1)
    np.random.seed(0)
    initial = np.random.uniform(0, 1, (3, 1))
    # One action: π = b = 1, so ρ = 1 and the step is the on-policy one.
    np.testing.assert_allclose(critic.V, [0.0, 0.1, 0.0])
    np.testing.assert_allclose(actor.Q[:, 0], initial[:, 0] + [0.0, 0.1, 0.0])


# ------------------------------------------------------------------------------------------
# n-step SARSA and SARSA(λ) against SARSA
# ------------------------------------------------------------------------------------------

def learned_with_seed(agent, seed=4, episodes=150):
    env = make_frozen_lake()
    set_seed(seed, env)
    quietly(agent.learn, env, episode_count=episodes)
    return agent


def test_one_step_sarsa_is_sarsa():
    sarsa = learned_with_seed(SARSAAgent())
    one_step = learned_with_seed(NStepSARSAAgent(n=1))
    np.testing.assert_array_equal(one_step.Q, sarsa.Q)
    assert one_step.reward_log == sarsa.reward_log
    assert not np.array_equal(learned_with_seed(NStepSARSAAgent(n=3)).Q, sarsa.Q)


def test_sarsa_lambda_at_zero_is_sarsa():
    sarsa = learned_with_seed(SARSAAgent())
    lambda_zero = learned_with_seed(SARSALambdaAgent(lambda_=0.0))
    np.testing.assert_array_equal(lambda_zero.Q, sarsa.Q)
    assert not np.array_equal(learned_with_seed(SARSALambdaAgent(lambda_=0.5)).Q, sarsa.Q)


def test_n_step_sarsa_carries_the_reward_n_states_back_in_one_episode():
    one = NStepSARSAAgent(epsilon=0.0, n=1)
    two = NStepSARSAAgent(epsilon=0.0, n=2)
    for agent in (one, two):
        quietly(agent.learn, Chain(), episode_count=1, gamma=0.9, learning_rate=0.5)
    np.testing.assert_allclose(one.Q[:, 0], [0.0, 0.5, 0.0])  # state 0 has not heard yet
    np.testing.assert_allclose(two.Q[:, 0], [0.5 * 0.9, 0.5, 0.0])  # G_0 = 0 + 0.9 · 1


def test_sarsa_lambda_traces_fade_by_gamma_lambda():
    agent = SARSALambdaAgent(epsilon=0.0, lambda_=0.5)
    quietly(agent.learn, Chain(), episode_count=1, gamma=0.9, learning_rate=0.5)
    # The reward's δ = 1 reaches (1) with trace 1 and (0) with trace γλ = 0.45.
    np.testing.assert_allclose(agent.Q[:, 0], [0.5 * 0.45, 0.5, 0.0])


# ------------------------------------------------------------------------------------------
# The scripts
# ------------------------------------------------------------------------------------------

SCRIPTS = [monte_carlo_on_policy, monte_carlo_off_policy, actor_critic_off_policy,
           n_step_sarsa, sarsa_lambda]
RESULT_FILES = ["q_table.npz", "reward_log.csv", "q_value.png", "reward_history.png"]


def saved_paths(out):
    return [Path(line.removeprefix("Saved ")) for line in out.splitlines()
            if line.startswith("Saved ")]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda m: m.__name__)
def test_training_script_runs_and_saves_its_results(script, capsys):
    result = script.main(["--episodes", "60", "--seed", "3", "--no-show"])
    out = capsys.readouterr().out
    assert "At Episode 50 average reward is" in out and "greedy な戦略は" in out
    saved = saved_paths(out)
    assert [path.name for path in saved] == RESULT_FILES
    run_dir = saved[0].parent
    assert run_dir.parent == output_dir(script.__file__)
    assert json.loads((run_dir / "run.json").read_text())["status"] == "finished"
    agent = result[0] if isinstance(result, tuple) else result
    assert len(agent.reward_log) == 60
    with np.load(run_dir / "q_table.npz") as data:
        np.testing.assert_array_equal(data["Q"], agent.Q)


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda m: m.__name__)
def test_training_script_on_the_slippery_lake(script, capsys):
    result = script.main(["--episodes", "20", "--slippery", "--no-show"])
    agent = result[0] if isinstance(result, tuple) else result
    assert agent.Q.shape == (16, 4) and len(agent.reward_log) == 20


def test_script_options_change_the_learner(capsys):
    assert n_step_sarsa.main(["--episodes", "2", "--n", "7", "--no-show"]).n == 7
    assert sarsa_lambda.main(["--episodes", "2", "--lambda", "0.3", "--no-show"]).lambda_ == 0.3


@pytest.mark.parametrize("script, argv, option", [
    (n_step_sarsa, ["--n", "0"], "--n"),
    (n_step_sarsa, ["--n", "two"], "--n"),
    (sarsa_lambda, ["--lambda", "1.5"], "--lambda"),
    (sarsa_lambda, ["--lambda", "nan"], "--lambda"),
    (actor_critic_off_policy, ["--epsilon", "-0.1"], "--epsilon"),
    *[(script, ["--episodes", "0"], "--episodes") for script in SCRIPTS],
], ids=str)
def test_a_bad_option_gets_one_sentence_and_status_2(script, argv, option, capsys):
    with pytest.raises(SystemExit) as exit_info:
        script.main([*argv, "--no-show"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and f"argument {option}:" in err
