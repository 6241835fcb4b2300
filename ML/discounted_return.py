"""Day1: the sum of rewards, and why the future is discounted.

Reinforcement learning maximizes the sum of the rewards that a sequence of actions earns, not
the reward of one step. A later reward is less certain, so each step into the future multiplies
it by the discount factor γ (0 ≤ γ ≤ 1). The discounted return from step t is

    G_t = r_t + γ r_{t+1} + γ² r_{t+2} + ... = Σ_k γ^k r_{t+k}

It is computed two ways, which must agree: recursively, G_t = r_t + γ G_{t+1} (the recursion
that Day2's Bellman equation is built on), and iteratively, multiplying the weight by γ at each
step. γ = 0 keeps only the first reward (a short-sighted agent), γ = 1 weighs every reward the
same, and 1 / (1 − γ) is roughly how many steps ahead an agent looks.
"""

import argparse

from common import exit_with_error, output_dir, save_figure, seed_value, set_seed, show_plot

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

DEFAULT_REWARDS = [1, 1, 1, 1, 1, 1, 1, 1, 1, 10]
DEFAULT_GAMMAS = [0.0, 0.5, 0.8, 0.9, 0.99, 1.0]
# The recursive version makes one Python call per reward; stay well below the recursion limit.
MAX_REWARDS = 500


def discounted_return_recursive(rewards, gamma):
    """G_0 by the recursion G_t = r_t + γ G_{t+1}, with G = 0 after the last reward."""

    def G(t):
        if t == len(rewards):
            return 0.0
        return rewards[t] + gamma * G(t + 1)

    return G(0)


def discounted_return_iterative(rewards, gamma):
    """G_0 = Σ_k γ^k r_k, computed in one forward pass over the rewards."""
    total, weight = 0.0, 1.0
    for reward in rewards:
        total += weight * reward
        weight *= gamma
    return total


def discount_weights(n_steps, gamma):
    """The weight γ^k that a reward k steps in the future gets, for k = 0 .. n_steps − 1."""
    return gamma ** np.arange(n_steps)


# The columns of ``returns_table``: the book's words, English in brackets.
GAMMA = "割引率 γ"
LAST_WEIGHT = "最後の報酬の重み (last weight)"
RECURSIVE = "割引報酬和・再帰 (recursive)"
ITERATIVE = "割引報酬和・反復 (iterative)"
HORIZON = "見通す長さ 1/(1-γ) (horizon)"


def returns_table(rewards, gammas):
    """One row per γ: the weight of the last reward, both returns and the effective horizon."""
    rows = []
    for gamma in gammas:
        rows.append({
            GAMMA: gamma,
            LAST_WEIGHT: gamma ** (len(rewards) - 1),
            RECURSIVE: discounted_return_recursive(rewards, gamma),
            ITERATIVE: discounted_return_iterative(rewards, gamma),
            # 1 / (1 − γ) is the sum of all the weights: how far ahead the agent "looks".
            HORIZON: np.inf if gamma == 1 else 1 / (1 - gamma),
        })
    return pd.DataFrame(rows).set_index(GAMMA)


def plot_discounting(rewards, gammas):
    """Left: the weight of each future step. Right: the return as the rewards add up."""
    fig, (ax_weight, ax_sum) = plt.subplots(1, 2, figsize=(11, 4))
    steps = np.arange(len(rewards))
    for gamma in gammas:
        weights = discount_weights(len(rewards), gamma)
        ax_weight.plot(steps, weights, marker="o", label=f"γ = {gamma}")
        ax_sum.plot(steps, np.cumsum(weights * np.asarray(rewards, dtype=float)), marker="o",
                    label=f"γ = {gamma}")
    ax_weight.set(title="k ステップ先の報酬の重み (weight of a reward k steps ahead)",
                  xlabel="k (何ステップ先か, steps ahead)", ylabel="重み (weight) γ^k")
    ax_sum.set(title="報酬が加わるにつれて増える割引報酬和 (discounted return)",
               xlabel="ステップ (step)", ylabel="ここまでの Σ γ^k r_k (return so far)")
    ax_sum.legend()
    fig.tight_layout()
    return fig


def parse_numbers(text, name):
    """Turn "1,0,2.5" into floats, or exit with a clear sentence."""
    try:
        values = [float(value) for value in text.split(",") if value.strip()]
    except ValueError:
        exit_with_error(f"{name} must be comma-separated numbers, got {text!r}")
    if not values:
        exit_with_error(f"{name} must hold at least one number")
    if not all(np.isfinite(values)):
        exit_with_error(f"{name} must be finite numbers, got {text!r}")
    return values


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Compute the discounted return of a reward sequence for several γ."
    )
    parser.add_argument("--rewards", default=",".join(str(r) for r in DEFAULT_REWARDS),
                        help="comma-separated rewards, one per step (default: nine 1s, then 10)")
    parser.add_argument("--gammas", default=",".join(str(g) for g in DEFAULT_GAMMAS),
                        help="comma-separated discount factors in [0, 1] "
                        "(default 0,0.5,0.8,0.9,0.99,1)")
    parser.add_argument("--seed", type=seed_value, default=0,
                        help="accepted for uniformity; this computation is deterministic")
    parser.add_argument("--no-show", action="store_true", help="save the plot without showing it")
    args = parser.parse_args(argv)
    set_seed(args.seed)

    rewards = parse_numbers(args.rewards, "--rewards")
    gammas = parse_numbers(args.gammas, "--gammas")
    if len(rewards) > MAX_REWARDS:
        exit_with_error(f"--rewards may hold at most {MAX_REWARDS} rewards, got {len(rewards)}")
    if not all(0.0 <= gamma <= 1.0 for gamma in gammas):
        exit_with_error(f"every γ in --gammas must be in [0, 1], got {args.gammas}")

    table = returns_table(rewards, gammas)
    print(f"報酬の列 (rewards): {rewards}")
    # Count a Japanese character as two columns, so that the columns line up in a terminal.
    with pd.option_context("display.unicode.east_asian_width", True):
        print(table.to_string(float_format=lambda value: f"{value:.4f}"))

    fig = plot_discounting(rewards, gammas)
    save_figure(fig, output_dir(__file__) / "discounted_return.png")
    show_plot(not args.no_show)
    return table


if __name__ == "__main__":
    main()
