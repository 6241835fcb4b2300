"""Day1: a Markov Decision Process (MDP) written as plain data, and the value of a state.

An MDP has states S, actions A, a transition function T(s'|s, a) that depends only on the
present state and action (the Markov property), and a reward function R(s, s'). Here the world
is a corridor of three cells between a pit and a goal::

    pit | s1 | s2 | s3 | goal

"left" and "right" move as intended with probability 0.8 and the other way with 0.2; the goal
pays +1, the pit −1, every other move −0.04. The agent follows a fixed policy that prefers
"right". The value V(s) is the expected discounted return from s: the script estimates it by
averaging the returns of many episodes (as Day3's Monte Carlo does), and solves the linear
Bellman equation V = r_π + γ P_π V exactly with NumPy (Day2 gets it by dynamic programming).
"""

import argparse

from common import (
    output_dir,
    positive_int,
    probability,
    save_figure,
    seed_value,
    set_seed,
    show_plot,
)

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ML.discounted_return import discounted_return_iterative

# The whole MDP as data. A reader can change any number here and rerun.
STATES = ["pit", "s1", "s2", "s3", "goal"]
TERMINALS = {"pit", "goal"}
ACTIONS = ["left", "right"]
TRANSITIONS = {
    # (state, action): {next_state: probability}
    ("s1", "left"): {"pit": 0.8, "s2": 0.2},
    ("s1", "right"): {"s2": 0.8, "pit": 0.2},
    ("s2", "left"): {"s1": 0.8, "s3": 0.2},
    ("s2", "right"): {"s3": 0.8, "s1": 0.2},
    ("s3", "left"): {"s2": 0.8, "goal": 0.2},
    ("s3", "right"): {"goal": 0.8, "s2": 0.2},
}
REWARDS = {"goal": 1.0, "pit": -1.0}  # reward for a move that arrives in these states
STEP_REWARD = -0.04  # reward for any other move
POLICY = {state: {"left": 0.3, "right": 0.7} for state in ("s1", "s2", "s3")}
START = "s2"
MAX_STEPS = 1000  # a safety net; with this policy an episode ends after a few steps


def transit_func(state, action):
    """T(s'|s, a) as ``{next_state: probability}``."""
    return TRANSITIONS[(state, action)]


def reward_func(state, next_state):
    """R(s, s'): the immediate reward depends on where the move started and where it ended."""
    return REWARDS.get(next_state, STEP_REWARD)


def sample_episode(start, rng, policy=POLICY, max_steps=MAX_STEPS):
    """Play one episode from ``start``; return its ``[(state, action, reward), ...]``."""
    experience = []
    state = start
    while state not in TERMINALS and len(experience) < max_steps:
        probs = policy[state]
        action = rng.choice(list(probs), p=list(probs.values()))
        next_states = transit_func(state, action)
        next_state = rng.choice(list(next_states), p=list(next_states.values()))
        experience.append((state, action, reward_func(state, next_state)))
        state = next_state
    return experience


def estimate_value(state, n_episodes, gamma, rng, policy=POLICY):
    """Average the discounted returns of ``n_episodes`` sampled from ``state``.

    Returns the estimate and the running average after each episode (to see it converge).
    """
    returns = np.array([
        discounted_return_iterative([reward for _, _, reward in sample_episode(state, rng, policy)],
                                    gamma)
        for _ in range(n_episodes)
    ])
    running_mean = np.cumsum(returns) / np.arange(1, n_episodes + 1)
    return running_mean[-1], running_mean


def exact_values(gamma, policy=POLICY):
    """Solve the Bellman equation of the fixed policy: ``{state: V(state)}``.

    For the non-terminal states, V = r_π + γ P_π V, where r_π(s) is the expected immediate
    reward and P_π(s, s') the probability of moving from s to s' under π. Terminal states are
    worth 0 (nothing more happens), so they drop out of P_π. Rearranged, (I − γ P_π) V = r_π.
    """
    acting = [s for s in STATES if s not in TERMINALS]
    index = {s: i for i, s in enumerate(acting)}
    P = np.zeros((len(acting), len(acting)))
    r = np.zeros(len(acting))
    for s in acting:
        for action, action_prob in policy[s].items():
            for next_state, prob in transit_func(s, action).items():
                r[index[s]] += action_prob * prob * reward_func(s, next_state)
                if next_state not in TERMINALS:
                    P[index[s], index[next_state]] += action_prob * prob
    V = np.linalg.solve(np.eye(len(acting)) - gamma * P, r)
    values = {s: 0.0 for s in STATES}
    values.update({s: float(V[index[s]]) for s in acting})
    return values


def plot_estimates(running_means, exact):
    """The running average of the sampled returns approaching the exact value of each state."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for (state, running_mean), color in zip(running_means.items(), ("C0", "C1", "C2")):
        episodes = np.arange(1, len(running_mean) + 1)
        ax.plot(episodes, running_mean, color=color, label=f"V({state}) の推定 (estimate)")
        ax.axhline(exact[state], color=color, linestyle="--",
                   label=f"V({state}) の厳密解 (exact)")
    ax.set(title="サンプルした割引報酬和の平均は価値に近づく (estimates converge)",
           xlabel="エピソード数 (episodes, 対数目盛り)",
           ylabel="割引報酬和の平均 (average discounted return)", xscale="log")
    ax.legend(fontsize="small", ncol=2)
    fig.tight_layout()
    return fig


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Sample episodes from a tiny MDP and estimate state values by averaging."
    )
    parser.add_argument("--episodes", type=positive_int, default=2000,
                        help="episodes sampled from each state (default 2000)")
    parser.add_argument("--gamma", type=probability, default=0.9,
                        help="discount factor γ from 0 to 1 (default 0.9)")
    parser.add_argument("--seed", type=seed_value, default=0, help="random seed (default 0)")
    parser.add_argument("--no-show", action="store_true", help="save the plot without showing it")
    args = parser.parse_args(argv)
    set_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    episode = sample_episode(START, rng)
    print(f"{START} から始めた 1 エピソード (one episode): "
          + " ".join(f"{s} -{a}-> ({r:+.2f})" for s, a, r in episode))
    print(f"その割引報酬和 (discounted return): "
          f"{discounted_return_iterative([r for _, _, r in episode], args.gamma):+.4f}")

    exact = exact_values(args.gamma)
    running_means = {}
    rows = []
    for state in STATES:
        if state in TERMINALS:
            continue
        estimate, running_means[state] = estimate_value(state, args.episodes, args.gamma, rng)
        rows.append({"状態 (state)": state, "厳密な価値 (exact V)": exact[state],
                     "推定 (estimate)": estimate, "誤差 (error)": estimate - exact[state]})
    table = pd.DataFrame(rows).set_index("状態 (state)")
    print(f"\n決まった戦略での価値 (values under the fixed policy; γ={args.gamma}, "
          f"状態ごとに {args.episodes} エピソード):")
    # Count a Japanese character as two columns, so that the columns line up in a terminal.
    with pd.option_context("display.unicode.east_asian_width", True):
        print(table.to_string(float_format=lambda value: f"{value:+.4f}"))

    fig = plot_estimates(running_means, exact)
    save_figure(fig, output_dir(__file__) / "mdp.png")
    show_plot(not args.no_show)
    return table


if __name__ == "__main__":
    main()
