"""Day3: the cliff walk of Sutton & Barto (Example 6.6): on-policy SARSA, off-policy Q-learning.

``EL/sarsa.py``'s SARSA and ``EL/q_learning.py``'s Q-learning (ε = 0.1, α = 0.5, γ = 1) walk a
4×12 grid from S to G: −1 a step, −100 and back to S for a step into the cliff between them.
``python EL/cliff_walking.py`` (50 runs of 500 episodes; small: ``--runs 5 --episodes 100``)
prints each method's mean reward over episodes 100–500 and its greedy path, and saves the
figure and ``rewards.csv`` in a run folder.

Published (S&B Figure 6.4, ε = 0.1): the online sum of rewards per episode settles around −25
for SARSA and −50 for Q-learning; Q-learning's greedy path is the optimal 13 moves along the
cliff edge, SARSA's the safer one further up. Measured (seed 0, 50 runs): −28.5 (SARSA) and
−50.9 (Q-learning); greedy paths: Q-learning 13 moves on the edge in 50 runs, SARSA 17 moves
(the top row) in 40, never beside the cliff in 39, stuck at a wall in 6 (doc/day3.md).
Not in the printed book: the world is ``envs/gridworld.py``'s GridWorldEnv with ``restart_on``.
"""

import argparse
from collections import Counter

from common import (
    SEED_MAX,
    exit_with_error,
    finish_training,
    new_run_dir,
    positive_int,
    save_figure,
    save_runs_csv,
    seed_value,
    set_seed,
    show_plot,
)

import numpy as np
from gymnasium.wrappers import RecordEpisodeStatistics
from tqdm import tqdm

from EL.q_learning import QLearningAgent
from EL.sarsa import SARSAAgent
from envs.gridworld import GridWorldEnv

ROWS, COLUMNS = 4, 12
START, GOAL = (ROWS - 1, 0), (ROWS - 1, COLUMNS - 1)
CLIFF = [(ROWS - 1, column) for column in range(1, COLUMNS - 1)]
STEP_REWARD, CLIFF_REWARD = -1.0, -100.0
EPSILON, LEARNING_RATE, GAMMA = 0.1, 0.5, 1.0
METHODS = {"sarsa": SARSAAgent, "q_learning": QLearningAgent}
LABELS = {"sarsa": "SARSA (On-policy)", "q_learning": "Q-learning (Off-policy)"}
COLORS = {"sarsa": "tab:blue", "q_learning": "tab:red"}
OPTIMAL_PATH = 13  # up, 11 steps right along the cliff edge, down
REPORTED_FROM = 100  # the mean reward is taken over episodes 100 to the last
SMOOTHING = 10  # episodes in the moving average of the figure
Y_LIMITS = (-100, 0)  # as the published figure: the first, long episodes are cut off


def make_cliff_env(render_mode=None):
    """The cliff as a GridWorldEnv: moves never slip, every arrival costs −1 (the goal too),
    and a step into the cliff costs −100 and puts the agent back on S without ending."""
    grid = [[0] * COLUMNS for _ in range(ROWS)]
    grid[GOAL[0]][GOAL[1]] = 1  # an end cell; its reward is the −1 of ``rewards``
    return GridWorldEnv(grid, move_prob=1.0, rewards=[[STEP_REWARD] * COLUMNS] * ROWS,
                        restart_on=CLIFF, restart_reward=CLIFF_REWARD, render_mode=render_mode)


def greedy_path(env, Q):
    """The states the greedy policy (``argmax Q[s]``) visits from S, ending at G; ``None`` when
    it does not get there (it walks in circles, or into the cliff and back to S)."""
    s, path = env.start_state, [env.start_state]
    for _ in range(env.observation_space.n):
        (_, s, reward, terminated), = env.P[s][int(np.argmax(Q[s]))]  # moves never slip
        if reward == CLIFF_REWARD:
            return None
        path.append(s)
        if terminated:
            return path
    return None


def moves_beside_the_cliff(env, path):
    """How many cells of ``path`` lie right above the cliff (the risky row)."""
    edge = {env.coordinate_to_state(row - 1, column) for row, column in CLIFF}
    return sum(s in edge for s in path)


def run_one(method, seed, episode_count):
    """One run of ``method`` from a blank Q table: ``(rewards, path)``, the sum of rewards of
    each episode (what the agent earned while still exploring, counted by the wrapper) and the
    greedy path after the last episode (``greedy_path``)."""
    env = RecordEpisodeStatistics(make_cliff_env(), buffer_length=episode_count)
    set_seed(seed, env)
    agent = METHODS[method](epsilon=EPSILON)
    # The TD updates are the Day3 agents' own; report_interval = episode_count: no lines.
    agent.learn(env, episode_count=episode_count, gamma=GAMMA, learning_rate=LEARNING_RATE,
                report_interval=episode_count)
    return np.array(env.return_queue), greedy_path(env.unwrapped, agent.Q)


def run_all(runs, episode_count, seed=0):
    """Every run of both methods: ``(rewards, paths, interrupted)``, ``rewards[method]`` of
    shape (runs, episodes) and ``paths[method]`` a list of greedy paths. Run r uses seed
    ``seed + r`` for both. Ctrl-C keeps the runs that finished for both methods."""
    finished = {method: [] for method in METHODS}
    interrupted = False
    try:
        with tqdm(total=runs * len(METHODS), desc="cliff walking runs", unit="run") as bar:
            for r in range(runs):
                for method in METHODS:
                    finished[method].append(run_one(method, seed + r, episode_count))
                    bar.update()
    except KeyboardInterrupt:
        interrupted = True
    complete = min(len(results) for results in finished.values())
    rewards = {method: np.array([rewards for rewards, _ in results[:complete]]).reshape(
        complete, episode_count) for method, results in finished.items()}
    paths = {method: [path for _, path in results[:complete]]
             for method, results in finished.items()}
    return rewards, paths, interrupted


def reported_episodes(episode_count):
    """The (first, last) episodes of the reported mean: 100 to the end, or all of a short run."""
    return (REPORTED_FROM if episode_count >= REPORTED_FROM else 1), episode_count


def mean_reward(table):
    """The mean sum of rewards per episode over the reported episodes of every run."""
    first, _ = reported_episodes(table.shape[1])
    return float(table[:, first - 1:].mean())


def typical_path(paths):
    """The most common length of the greedy paths that reach G, how many runs have it, and
    the most common path of that length (``None, 0, None`` if no path reaches G)."""
    lengths = Counter(len(path) - 1 for path in paths if path is not None)
    if not lengths:
        return None, 0, None
    length, count = lengths.most_common(1)[0]
    shape = Counter(tuple(path) for path in paths if path is not None and len(path) - 1 == length)
    return length, count, list(shape.most_common(1)[0][0])


def report(rewards, paths):
    """Print each method's mean reward over the reported episodes and its greedy paths."""
    env = make_cliff_env()
    runs, episode_count = next(iter(rewards.values())).shape
    first, last = reported_episodes(episode_count)
    print(f"1 エピソードの報酬の合計、{first}〜{last} エピソードの平均 ({runs} 回) "
          f"[mean sum of rewards per episode, episodes {first}-{last}, {runs} runs]:")
    for method, table in rewards.items():
        print(f"  {LABELS[method]:24s} {mean_reward(table):7.1f}")
    print("学習後の greedy な道のり [greedy path after learning]:")
    for method, method_paths in paths.items():
        length, count, _ = typical_path(method_paths)
        lost = sum(path is None for path in method_paths)
        away = sum(path is not None and moves_beside_the_cliff(env, path) == 0
                   for path in method_paths)
        shown = f"{length} 手が {count} 回" if length else "なし"
        english = f"{length} moves in {count} runs" if length else "none"
        print(f"  {LABELS[method]:24s} いちばん多い長さ {shown}、崖の隣を通らない {away} 回、"
              f"ゴールに届かない {lost} 回 (全 {runs} 回) [most common length: {english}; "
              f"{away} never beside the cliff; {lost} do not reach G]")


def draw_rewards(ax, rewards):
    """Mean sum of rewards per episode, as a moving average of ``SMOOTHING`` episodes."""
    runs, episode_count = next(iter(rewards.values())).shape
    window = min(SMOOTHING, episode_count)
    for method, table in rewards.items():
        smoothed = np.convolve(table.mean(axis=0), np.ones(window) / window, mode="valid")
        ax.plot(np.arange(window, episode_count + 1), smoothed, color=COLORS[method],
                label=f"{LABELS[method]}: {REPORTED_FROM}〜 の平均 {mean_reward(table):.1f}")
    ax.set_ylim(*Y_LIMITS)
    ax.set_xlim(1, episode_count)
    ax.set_xlabel("エピソード (episode)")
    ax.set_ylabel(f"1 エピソードの報酬の合計\n(sum of rewards, {runs} 回の平均)")
    ax.set_title("探索しながら得る報酬は SARSA が多い (縦軸は −100 で切っています; "
                 f"{window} エピソードの移動平均)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")


def draw_paths(ax, paths):
    """The grid with the cliff, S and G, and each method's most common greedy path."""
    env = make_cliff_env()
    cells = np.zeros((ROWS, COLUMNS))
    for row, column in CLIFF:
        cells[row, column] = 1
    ax.imshow(cells, cmap="Greys", vmin=0, vmax=1.5)
    ax.text(sum(c for _, c in CLIFF) / len(CLIFF), CLIFF[0][0], "崖 (cliff): −100、S に戻る",
            ha="center", va="center", color="white", fontsize=10)
    for (row, column), text in ((START, "S"), (GOAL, "G")):
        # In the cell's corner: the paths run through its centre.
        ax.text(column - 0.4, row + 0.4, text, ha="left", va="bottom", fontsize=13)
    # A small shift keeps two paths that share cells apart (SARSA up, Q-learning down).
    for shift, (method, method_paths) in zip((-0.12, 0.12), paths.items()):
        length, count, path = typical_path(method_paths)
        if path is None:
            continue
        rows, columns = np.array([env.state_to_coordinate(s) for s in path]).T
        ax.plot(columns, rows + shift, color=COLORS[method], linewidth=3, marker="o",
                markersize=4, label=f"{LABELS[method]}: {length} 手 "
                                    f"({len(method_paths)} 回中 {count} 回がこの長さ)")
    ax.set_xticks(np.arange(-0.5, COLUMNS), labels=[])
    ax.set_yticks(np.arange(-0.5, ROWS), labels=[])
    ax.tick_params(length=0)
    ax.grid(color="grey", linewidth=0.5)
    ax.set_title("学習後の greedy な道のり (greedy paths): Q-learning は崖の縁、SARSA は離れた道",
                 fontsize=10)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.02), ncol=2, fontsize=9)
    else:  # a very short run: no greedy path reaches G yet
        ax.set_xlabel("greedy な道はまだゴールに届きません (no greedy path reaches G yet)")


def plot(rewards, paths, path):
    """The figure: the rewards per episode above, the greedy paths on the grid below."""
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 9), height_ratios=(3, 2))
    draw_rewards(top, rewards)
    draw_paths(bottom, paths)
    fig.suptitle("崖歩き (Sutton & Barto 例 6.6): SARSA と Q-learning (ε = 0.1, α = 0.5)")
    fig.tight_layout()
    save_figure(fig, path)
    return fig


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="SARSA and Q-learning on the cliff of Sutton & Barto's Example 6.6: the "
                    "sum of rewards per episode, averaged over runs, and the greedy paths.")
    parser.add_argument("--runs", type=positive_int, default=50,
                        help="independent runs of each method (default 50)")
    parser.add_argument("--episodes", type=positive_int, default=500,
                        help="episodes in each run (default 500)")
    parser.add_argument("--seed", type=seed_value, default=0,
                        help="random seed of the first run; run r uses seed + r (default 0)")
    parser.add_argument("--no-show", action="store_true", help="do not open a plot window")
    args = parser.parse_args(argv)
    if args.seed + args.runs - 1 > SEED_MAX:
        exit_with_error("--seed plus --runs must stay below 2**32 (run r uses seed + r)")

    run_dir = new_run_dir(__file__)
    rewards, paths, interrupted = run_all(args.runs, args.episodes, args.seed)
    runs = len(rewards["sarsa"])
    if interrupted:
        print(f"中断しました。両方の手法で終わった {runs} 回分を残します "
              f"(interrupted: keeping the {runs} runs that finished).")
    if runs:
        report(rewards, paths)
        save_runs_csv(rewards, run_dir / "rewards.csv", "method", "reward")
        plot(rewards, paths, run_dir / "rewards.png")
    finish_training(run_dir, interrupted=interrupted, runs=runs,
                    mean_reward={method: round(mean_reward(table), 2) if runs else None
                                 for method, table in rewards.items()})
    show_plot(not args.no_show)
    return rewards, paths


if __name__ == "__main__":
    main()
