"""Day6: Dyna on the maze of Sutton & Barto (Example 8.1) — planning cuts the real episodes.

``MM/dyna.py``'s ``DynaAgent`` (α = 0.1, ε = 0.1, γ = 0.95) walks a 6×9 maze from S to G (+1)
with n = 0, 5 and 50 planning steps after each real step. ``python MM/dyna_maze.py`` (30 runs
of 50 episodes; small: ``--runs 5 --episodes 20``) prints the mean steps at episodes 2, 5 and
10, and saves the figure of steps per episode and ``steps.csv`` in a run folder.

Published (S&B Figure 8.2, 30 runs): episode 1 takes about 1,700 steps for every n; then n = 0
needs about 25 episodes to come down to about 14 steps (the shortest path), n = 5 about 5 and
n = 50 about 3. Measured (seed 0, 30 runs): mean steps at episodes 2 / 5 / 10 are 794 / 220 /
157 (n = 0), 177 / 26 / 17 (n = 5), 42 / 17 / 17 (n = 50); the greedy policy first reaches G
after 24.3, 4.7 and 2.0 episodes. Episode 1 takes ~850 steps here, not ~1,700 (see
doc/day6_im_mm.md). Not in the printed book: the maze is a small gymnasium environment.
"""

import argparse

from common import (
    SEED_MAX,
    exit_with_error,
    finish_training,
    new_run_dir,
    non_negative_int,
    positive_int,
    save_figure,
    save_runs_csv,
    seed_value,
    set_seed,
    show_plot,
)

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.wrappers import RecordEpisodeStatistics
from joblib import Parallel, delayed
from tqdm import tqdm

from MM.dyna import DynaAgent

ROWS, COLUMNS = 6, 9
START, GOAL = (2, 0), (0, 8)
WALLS = frozenset({(1, 2), (2, 2), (3, 2), (4, 5), (0, 7), (1, 7), (2, 7)})
# The book's action numbers (as FrozenLake and GridWorld): 0 left, 1 down, 2 right, 3 up.
LEFT, DOWN, RIGHT, UP = range(4)
MOVES = ((0, -1), (1, 0), (0, 1), (-1, 0))  # (row, column) change of each action
SHORTEST_PATH = 14  # steps from S to G around the walls
PLANNING_STEPS = (0, 5, 50)
LEARNING_RATE, EPSILON, GAMMA = 0.1, 0.1, 0.95
REPORTED_EPISODES = (2, 5, 10)
Y_LIMIT = 800  # as the published figure: the first episode (~1,700 steps) is cut off


class DynaMaze(gym.Env):
    """The maze of Sutton & Barto's Figure 8.2: deterministic moves, +1 on reaching G.

    States are ``row * 9 + column``. A move into a wall or off the grid leaves the agent where
    it is. Every step gives 0 except the one that reaches G: +1, and the episode terminates.
    There is no time limit: the first episode, a random walk, takes some 1,700 steps.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(self, render_mode=None):
        self.observation_space = spaces.Discrete(ROWS * COLUMNS)
        self.action_space = spaces.Discrete(len(MOVES))
        self.render_mode = render_mode
        self.state = self.start_state = START[0] * COLUMNS + START[1]
        self.goal_state = GOAL[0] * COLUMNS + GOAL[1]

    def move(self, state, action):
        """Where ``action`` leads from ``state`` (the world's dynamics, without side effects)."""
        row, column = divmod(state, COLUMNS)
        row, column = row + MOVES[action][0], column + MOVES[action][1]
        if not (0 <= row < ROWS and 0 <= column < COLUMNS) or (row, column) in WALLS:
            return state
        return row * COLUMNS + column

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.state = self.start_state
        return self.state, {}

    def step(self, action):
        self.state = self.move(self.state, int(action))
        terminated = self.state == self.goal_state
        return self.state, 1.0 if terminated else 0.0, terminated, False, {}

    def render(self):
        """The maze as text: S start, G goal, # wall, A the agent."""
        cells = [["#" if (r, c) in WALLS else "." for c in range(COLUMNS)] for r in range(ROWS)]
        cells[START[0]][START[1]], cells[GOAL[0]][GOAL[1]] = "S", "G"
        row, column = divmod(self.state, COLUMNS)
        cells[row][column] = "A"
        return "\n".join("".join(line) for line in cells)


def greedy_path_length(agent, env, limit=ROWS * COLUMNS):
    """Steps the greedy policy (first best action) takes from S to G; ``None`` if it never
    arrives (it walks in circles, or into a wall, where Q has not learned the way)."""
    state = env.start_state
    for step in range(1, limit + 1):
        values = agent.value[state]
        state = env.move(state, values.index(max(values)))
        if state == env.goal_state:
            return step
    return None


def run_one(steps_in_model, seed, episode_count):
    """One run of ``DynaAgent`` on the maze: ``(steps, greedy)``, the steps of each episode
    (counted by the wrapper) and, after each episode, the greedy policy's path length from S
    to G (``nan`` while it does not get there)."""
    env = RecordEpisodeStatistics(DynaMaze(), buffer_length=episode_count)
    set_seed(seed, env)
    greedy = []

    def walk_greedily(episode, agent, reward):
        length = greedy_path_length(agent, env.unwrapped)
        greedy.append(np.nan if length is None else length)

    DynaAgent(epsilon=EPSILON).learn(env, episode_count=episode_count, gamma=GAMMA,
                                     learning_rate=LEARNING_RATE, steps_in_model=steps_in_model,
                                     report_interval=0, callback=walk_greedily)
    return np.array(env.length_queue), np.array(greedy)


def episodes_to_goal(greedy):
    """The first episode after which the greedy policy reaches G (``nan``: not in the run):
    the moment the value of the goal has spread back to the start."""
    reached = ~np.isnan(greedy)
    return float(reached.argmax() + 1) if reached.any() else np.nan


def run_all(planning_steps, runs, episode_count, seed=0, n_jobs=1):
    """Every run for every n: ``(steps, greedy, interrupted)``, each ``[n]`` of shape
    (runs, episodes) (``run_one``). Run r uses seed ``seed + r`` for every n, in whichever
    process, so the numbers do not depend on ``n_jobs``. Ctrl-C keeps the runs that finished
    for every n."""
    jobs = [(steps, seed + r) for r in range(runs) for steps in planning_steps]
    results = Parallel(n_jobs=n_jobs, return_as="generator")(
        delayed(run_one)(steps, run_seed, episode_count) for steps, run_seed in jobs)
    finished = []
    interrupted = False
    try:
        for result in tqdm(results, total=len(jobs), desc="Dyna maze runs", unit="run"):
            finished.append(result)
    except KeyboardInterrupt:
        interrupted = True
    complete = len(finished) // len(planning_steps)
    steps, greedy = ({n: np.array([finished[r * len(planning_steps) + i][part]
                                   for r in range(complete)]).reshape(complete, episode_count)
                      for i, n in enumerate(planning_steps)} for part in (0, 1))
    return steps, greedy, interrupted


def planning_label(n):
    if n == 0:
        return "n = 0 (プランニングなし = Q-learning, no planning)"
    return f"n = {n} (プランニング {n} 回, {n} planning steps)"


def draw_maze(ax):
    """The maze in a corner of the figure, as the published one shows it."""
    grid = np.zeros((ROWS, COLUMNS))
    for row, column in WALLS:
        grid[row, column] = 1
    ax.imshow(grid, cmap="Greys", vmin=0, vmax=1.6)
    for (row, column), text in ((START, "S"), (GOAL, "G")):
        ax.text(column, row, text, ha="center", va="center", fontsize=9)
    ax.set_xticks(np.arange(-0.5, COLUMNS), labels=[])
    ax.set_yticks(np.arange(-0.5, ROWS), labels=[])
    ax.tick_params(length=0)
    ax.grid(color="grey", linewidth=0.5)
    ax.set_title("迷路 (maze): S から G へ", fontsize=9)


def plot_steps(steps, path):
    """Mean steps per episode for each n, from episode 2, the y-axis cut at ``Y_LIMIT``."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 5.5))
    runs = min(len(table) for table in steps.values())
    for n, table in steps.items():
        mean = table.mean(axis=0)
        ax.plot(np.arange(2, len(mean) + 1), mean[1:], label=planning_label(n))
    first = np.mean([table[:, 0].mean() for table in steps.values()])
    ax.axhline(SHORTEST_PATH, color="grey", linestyle="--", linewidth=1,
               label=f"最短路 {SHORTEST_PATH} ステップ (shortest path)")
    ax.set_ylim(0, Y_LIMIT)
    ax.set_xlim(left=1.5)
    ax.set_xlabel("本物の環境でのエピソード (real episodes)")
    ax.set_ylabel(f"1 エピソードのステップ数 ({runs} 回の平均, mean steps per episode)")
    ax.set_title("Dyna 迷路 (Sutton & Barto 例 8.1): "
                 "プランニングが多いほど、少ないエピソードで最短路へ\n"
                 f"(縦軸は 0–{Y_LIMIT} で切っています。1 エピソード目は、どの n でも"
                 f" Q が 0 のままのランダムウォークで平均 {first:,.0f} ステップ: 図の外)",
                 fontsize=11)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper center")
    draw_maze(ax.inset_axes([0.6, 0.3, 0.36, 0.3]))
    save_figure(fig, path)
    return fig


def report(steps, greedy):
    """Print the mean steps at episodes 2, 5 and 10, when the greedy policy first reached G,
    and how many runs end with the greedy policy on a shortest path."""
    runs = min(len(table) for table in steps.values())
    print(f"1 エピソードのステップ数の平均 ({runs} 回) [mean steps per episode over {runs} runs]:")
    for n, table in steps.items():
        shown = [e for e in REPORTED_EPISODES if e <= table.shape[1]]
        cells = ", ".join(f"{e} 回目 {table[:, e - 1].mean():.0f}" for e in shown)
        english = ", ".join(f"episode {e}: {table[:, e - 1].mean():.0f}" for e in shown)
        print(f"  n = {n:2d}: {cells} [{english}]")
    print("greedy な戦略がゴールまで行けるようになったエピソード "
          "[first episode after which the greedy policy reaches G]、最後の greedy な道のり:")
    for n, table in greedy.items():
        reached = np.array([episodes_to_goal(row) for row in table])
        when = (f"平均 {np.nanmean(reached):.1f} 回目 [mean episode {np.nanmean(reached):.1f}]"
                if not np.isnan(reached).all() else "届かない [never]")
        shortest = int((table[:, -1] == SHORTEST_PATH).sum())
        print(f"  n = {n:2d}: {when}; 最後に最短路 {SHORTEST_PATH} ステップを行くのは "
              f"{shortest}/{len(table)} 回 [runs ending on the shortest path]")


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Dyna-Q on the maze of Sutton & Barto's Example 8.1: steps per episode "
                    "with 0, 5 and 50 planning steps, averaged over runs.")
    parser.add_argument("--runs", type=positive_int, default=30,
                        help="independent runs for each n (default 30)")
    parser.add_argument("--episodes", type=positive_int, default=50,
                        help="episodes in each run (default 50)")
    parser.add_argument("--planning-steps", type=non_negative_int, nargs="+",
                        default=list(PLANNING_STEPS),
                        help="planning steps n after each real step, one line per value "
                             "(default 0 5 50; 0 is plain Q-learning)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="parallel processes (default 1; -1: all cores); the numbers are "
                             "the same for any value")
    parser.add_argument("--seed", type=seed_value, default=0,
                        help="random seed of the first run; run r uses seed + r (default 0)")
    parser.add_argument("--no-show", action="store_true", help="do not open a plot window")
    args = parser.parse_args(argv)
    if args.jobs == 0 or args.jobs < -1:
        exit_with_error(f"--jobs must be -1 (all cores) or 1 or more, got {args.jobs}")
    if args.seed + args.runs - 1 > SEED_MAX:
        exit_with_error("--seed plus --runs must stay below 2**32 (run r uses seed + r)")
    planning_steps = list(dict.fromkeys(args.planning_steps))  # each n once, in the given order

    run_dir = new_run_dir(__file__)
    steps, greedy, interrupted = run_all(planning_steps, args.runs, args.episodes,
                                              args.seed, args.jobs)
    runs = min(len(table) for table in steps.values())
    if interrupted:
        print(f"中断しました。どの n でも終わった {runs} 回分を残します "
              f"(interrupted: keeping the {runs} runs that finished).")
    if runs:
        report(steps, greedy)
        save_runs_csv(steps, run_dir / "steps.csv", "n", "steps")
        plot_steps(steps, run_dir / "steps.png")
    finish_training(run_dir, interrupted=interrupted, runs=runs,
                    mean_steps={n: table.mean(axis=0).round(2).tolist()
                                for n, table in steps.items()})
    show_plot(not args.no_show)
    return steps, greedy


if __name__ == "__main__":
    main()
