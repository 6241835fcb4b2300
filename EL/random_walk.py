"""Day3: the 19-state random walk — how many steps of real reward should a TD update use?

Sutton & Barto's experiment (figures 7.2 and 12.6): a walk starts in the middle of 19 states
and steps left or right until it falls off an end (−1 left, +1 right, γ = 1); the true values
are (i − 10) / 10. Learned from 10 episodes by n-step TD (n = 1 … 512) and by online TD(λ)
with accumulating traces, the root-mean-square error over 100 runs is plotted against the
step size α. The best methods sit in the middle (a few steps, λ around 0.8), and the longer
the look-ahead, the smaller the α it can bear; points that blow up lie above the plot.

    python EL/random_walk.py [--runs 100] [--seed 0] [--no-show]

The runs and step sizes are simulated side by side as arrays; all methods see the same
episodes.
"""

import argparse
import csv

from common import (
    atomic_path,
    finish_run,
    new_run_dir,
    positive_int,
    save_figure,
    seed_value,
    show_plot,
)

import numpy as np

N_STATES = 19
N_VALUES = 2 ** np.arange(10)  # 1, 2, 4, ..., 512
LAMBDAS = np.array([0.0, 0.4, 0.8, 0.9, 0.95, 0.975, 0.99, 1.0])
# Finer near 0: the long returns (large n or λ) do best with a very small step.
ALPHAS = np.round(np.concatenate([np.arange(0.0, 0.05, 0.01), np.linspace(0.05, 1.0, 20)]), 2)


def true_values(n_states=N_STATES):
    """V of the random policy for states 0 … n_states + 1: a straight line, 0 at both ends.

    From state i the walk ends on the right with probability i / (n_states + 1), so its value
    is that chance times +1 plus the rest times −1: 2 i / (n_states + 1) − 1.
    """
    values = np.zeros(n_states + 2)
    values[1:-1] = 2 * np.arange(1, n_states + 1) / (n_states + 1) - 1
    return values


class Walks:
    """One episode of the random walk for each run, padded to the longest.

    ``states`` has shape (runs, L + 1): a walk that ended stays on its end. ``rewards`` has
    shape (runs, L): the reward on the way from ``states[:, t]`` to ``states[:, t + 1]``,
    0 after the end. ``lengths`` is each walk's number of steps T.
    """

    def __init__(self, rng, runs, n_states=N_STATES):
        position = np.full(runs, (n_states + 1) // 2)  # the middle; 0 and n_states + 1 end
        alive = np.ones(runs, dtype=bool)
        path, lengths = [position], np.zeros(runs, dtype=int)
        while alive.any():
            position = position + alive * (2 * rng.integers(0, 2, size=runs) - 1)
            lengths += alive
            alive = (position > 0) & (position < n_states + 1)
            path.append(position)
        self.states = np.stack(path, axis=1)
        last = self.states[np.arange(runs), lengths]
        self.rewards = np.zeros((runs, self.states.shape[1] - 1))
        self.rewards[np.arange(runs), lengths - 1] = np.where(last == n_states + 1, 1.0, -1.0)
        self.lengths = lengths


def make_walks(runs, episodes, seed=0, n_states=N_STATES):
    """``episodes`` lists of walks for ``runs`` runs, from one seeded generator."""
    rng = np.random.default_rng(seed)
    return [Walks(rng, runs, n_states) for _ in range(episodes)]


def n_step_td(walks, n, alphas, n_states=N_STATES):
    """n-step TD prediction for every α and run; V after each episode.

    Returns an array of shape (episodes, α, runs, n_states + 2). The update of step τ uses
    V(s_{τ+n}) as it is after the updates of the steps before τ, exactly as the online
    algorithm does when it updates τ at time τ + n − 1. The ends keep V = 0, so a return
    that reaches the end needs no special case: its bootstrap term is V(end) = 0.
    """
    alphas = np.asarray(alphas, dtype=float)[:, None]
    runs = walks[0].states.shape[0]
    row = np.arange(runs)
    V = np.zeros((alphas.size, runs, n_states + 2))
    history = []
    for walk in walks:
        last = walk.rewards.shape[1]
        # cumulative[:, t] = r_1 + ... + r_t, so a sum of rewards is one subtraction.
        cumulative = np.concatenate([np.zeros((runs, 1)), np.cumsum(walk.rewards, axis=1)],
                                    axis=1)
        for tau in range(last):
            horizon = min(tau + n, last)
            s = walk.states[:, tau]
            G = cumulative[:, horizon] - cumulative[:, tau] + V[:, row, walk.states[:, horizon]]
            active = tau < walk.lengths  # runs whose episode still has a step τ
            V[:, row, s] += alphas * (G - V[:, row, s]) * active
        history.append(V.copy())
    return np.stack(history)


def td_lambda(walks, lambda_, alphas, n_states=N_STATES):
    """Online TD(λ) with accumulating traces for every α and run; V after each episode.

    Returns an array of shape (episodes, α, runs, n_states + 2). γ = 1.
    """
    alphas = np.asarray(alphas, dtype=float)[:, None, None]
    runs = walks[0].states.shape[0]
    row = np.arange(runs)
    V = np.zeros((alphas.size, runs, n_states + 2))
    history = []
    # Diverging values (large α and λ) overflow to inf and then nan: that is the result.
    with np.errstate(over="ignore", invalid="ignore"):
        for walk in walks:
            E = np.zeros_like(V)  # traces start empty in every episode
            for t in range(walk.rewards.shape[1]):
                s, n_state = walk.states[:, t], walk.states[:, t + 1]
                active = t < walk.lengths
                delta = (walk.rewards[:, t] + V[:, row, n_state] - V[:, row, s]) * active
                E *= lambda_
                E[:, row, s] += active
                V += alphas * delta[:, :, None] * E
            history.append(V.copy())
    return np.stack(history)


def rms_error(history, n_states=N_STATES):
    """RMS error over the states after each episode, averaged over episodes and runs; per α.

    A run whose values overflowed (nan) counts as an infinite error.
    """
    error = history[..., 1:-1] - true_values(n_states)[1:-1]
    with np.errstate(over="ignore", invalid="ignore"):
        rms = np.sqrt(np.mean(error ** 2, axis=-1))  # (episodes, α, runs)
    rms = np.where(np.isnan(rms), np.inf, rms)
    return rms.mean(axis=(0, 2))


def run_experiment(runs=100, episodes=10, seed=0, n_values=N_VALUES, lambdas=LAMBDAS,
                   alphas=ALPHAS):
    """Rows ``(method, n_or_lambda, alpha, rms)`` for both methods on the same walks."""
    walks = make_walks(runs, episodes, seed)
    rows = []
    for n in n_values:
        for alpha, rms in zip(alphas, rms_error(n_step_td(walks, int(n), alphas))):
            rows.append(("n-step TD", int(n), float(alpha), float(rms)))
    for lambda_ in lambdas:
        for alpha, rms in zip(alphas, rms_error(td_lambda(walks, float(lambda_), alphas))):
            rows.append(("TD(lambda)", float(lambda_), float(alpha), float(rms)))
    return rows


def write_csv(rows, path):
    with atomic_path(path) as temporary, open(temporary, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["method", "n_or_lambda", "alpha", "rms"])
        writer.writerows(rows)
    print(f"Saved {path}")
    return path


def print_best(rows):
    """For each n and each λ, the α with the lowest error."""
    for method, label in (("n-step TD", "n"), ("TD(lambda)", "λ")):
        print(f"{method}: {label} ごとにいちばん良い α (best α for each {label})")
        keys = sorted({key for m, key, _, _ in rows if m == method})
        for key in keys:
            alpha, rms = min(((a, r) for m, k, a, r in rows if m == method and k == key),
                             key=lambda pair: pair[1])
            print(f"  {label} = {key:<6g} α = {alpha:<5g} RMS 誤差 (RMS error) {rms:.3f}")


def plot(rows, path, runs, episodes, show=True):
    """RMS error against α, n-step TD on the left, TD(λ) on the right; saved at ``path``
    (None: only shown)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(14, 5), sharey=True, layout="constrained")
    for ax, method, label in ((axes[0], "n-step TD", "n"), (axes[1], "TD(lambda)", "λ")):
        keys = sorted({key for m, key, _, _ in rows if m == method})
        colors = plt.cm.viridis(np.linspace(0, 0.85, len(keys)))
        for key, color in zip(keys, colors):
            points = [(a, r) for m, k, a, r in rows if m == method and k == key]
            alphas, rms = np.array(points).T
            ax.plot(alphas, rms, "-", color=color, label=f"{label} = {key:g}")
            best = np.argmin(rms)
            ax.plot(alphas[best], rms[best], "o", color=color, markersize=5)
        ax.set_xlabel("学習率 (step size) α")
        ax.set_title("n-step TD" if method == "n-step TD"
                     else "TD(λ) (online, accumulating traces)")
        ax.set_ylim(0.25, 0.55)  # as in Sutton & Barto; larger errors lie above the frame
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    axes[0].set_ylabel(f"RMS 誤差 (RMS error)\n最初の {episodes} エピソードの平均")
    fig.suptitle(f"19 状態のランダムウォーク: ランダムな戦略の価値の予測 ({runs} 回の平均); "
                 "点は各線で最良の α")
    if path is not None:
        save_figure(fig, path)
    show_plot(show)
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="The 19-state random walk: n-step TD and TD(λ) over step sizes (Day3)."
    )
    parser.add_argument("--runs", type=positive_int, default=100,
                        help="independent runs to average over (default 100)")
    parser.add_argument("--episodes", type=positive_int, default=10,
                        help="episodes learned in each run (default 10, the classic)")
    parser.add_argument("--seed", type=seed_value, default=0, help="random seed (default 0)")
    parser.add_argument("--no-show", action="store_true",
                        help="save the plot without opening a window")
    args = parser.parse_args(argv)

    run_dir = new_run_dir(__file__)
    print(f"Run folder: {run_dir}")
    rows = run_experiment(args.runs, args.episodes, args.seed)
    write_csv(rows, run_dir / "rms.csv")
    print_best(rows)
    plot(rows, run_dir / "rms.png", args.runs, args.episodes, show=not args.no_show)
    finish_run(run_dir, runs=args.runs, episodes=args.episodes, seed=args.seed)
    return rows


if __name__ == "__main__":
    main()
