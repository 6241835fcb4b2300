"""Day6: what the two inverse-RL demos share — the maze, the teacher, and how to judge a guess.

``IM/maxent.py`` and ``IM/bayesian.py`` run one experiment with two estimators: a teacher
that knows the true reward plans with it and walks from the start (``--grid FILE``: a maze
saved by the Day2 simulator); the estimator sees only these walks and guesses every cell's
reward. A reward read from behaviour is fixed only up to what the behaviour shows (a constant
added, or a scale, changes no decision), so the guess is not compared number by number. Three
facts are checked instead (``judge``): the highest estimate is at or next to a Treasure; every
Danger cell is below the median cell; the policy planned on the estimate walks from the start
to a Treasure, as the teacher's does. The figure draws both rewards on one colour scale
centred at zero, each with the policy planned on it.
"""

from common import atomic_path, exit_with_error, new_run_dir, positive_int, save_figure, seed_value

import numpy as np

from DP.environment import DANGER, TREASURE
from DP.maze_file import load_maze
from envs.gridworld import DEFAULT_GRID, GridWorldEnv
from IM.vectorized_planner import ValueIterationPlanner

# What the teacher plans with (the book's default γ for its planners).
TEACHER_GAMMA = 0.9
# (row, column) step of each GridWorldEnv action, LEFT, DOWN, RIGHT, UP: for drawing arrows.
ARROW_STEPS = [(0, -1), (1, 0), (0, 1), (-1, 0)]


def add_demo_arguments(parser, epoch, trajectories=20):
    """The options shared by the MaxEnt and Bayesian IRL demos."""
    parser.add_argument("--grid", help="a maze JSON file saved by the web simulator "
                        "(its grid, \"prob\" and \"rewards\" are used; default: the book's "
                        "4x4 grid)")
    parser.add_argument("--epoch", type=positive_int, default=epoch,
                        help=f"estimation epochs (default {epoch})")
    parser.add_argument("--trajectories", type=positive_int, default=trajectories,
                        help=f"demonstrations the teacher gives (default {trajectories})")
    parser.add_argument("--seed", type=seed_value, default=0, help="random seed (default 0)")
    parser.add_argument("--no-show", action="store_true", help="do not open a plot window")


def make_env(grid_file=None):
    """The maze of ``--grid`` (checked by Day2's ``load_maze``), or the book's grid."""
    if grid_file is None:
        return GridWorldEnv(DEFAULT_GRID)
    maze = load_maze(grid_file)
    env = GridWorldEnv(maze["grid"], move_prob=maze.get("prob", 0.8), rewards=maze.get("rewards"))
    if not np.any(env.grid == TREASURE):
        exit_with_error(f"{grid_file} has no Treasure cell: the teacher would have nothing to "
                        "walk to; add one (value 1) with the simulator")
    return env


def demonstrate(env, teacher, count=20, max_steps=100):
    """Let the teacher play ``count`` episodes; returns ``(states, actions)`` per episode.

    ``states`` runs from the start to the state where the episode ended (one longer than
    ``actions``). MaxEnt IRL reads the states, Bayesian IRL the (state, action) pairs.
    """
    demonstrations = []
    for _ in range(count):
        s, _ = env.reset()
        states, actions = [s], []
        for _ in range(max_steps):
            a = teacher.act(s)
            s, _, terminated, truncated, _ = env.step(a)
            states.append(s)
            actions.append(a)
            if terminated or truncated:
                break
        demonstrations.append((states, actions))
    return demonstrations


def teacher_demonstrations(env, count, seed):
    """The teacher plans with the true reward, then shows ``count`` walks from the start."""
    env.reset(seed=seed)
    teacher = ValueIterationPlanner(env)
    teacher.plan(gamma=TEACHER_GAMMA)
    print(f"Gather {count} demonstrations")
    return demonstrate(env, teacher, count)


def greedy_policy(env, reward, gamma):
    """One greedy action per state (GridWorldEnv numbering), planned with ``reward`` (flat)."""
    reward = np.asarray(reward, dtype=float).ravel()
    planner = ValueIterationPlanner(env, reward_func=lambda s: reward[s])
    planner.plan(gamma=gamma)
    return planner.policy.argmax(axis=1)


def follow(env, policy):
    """The cells visited when the arrows of ``policy`` are followed from the start.

    Moves go where they are meant (no slips): this is the route the arrows draw. The walk ends
    on an end cell, or when a cell comes round again (the arrows go in a circle).
    """
    s, path = env.start_state, [env.start_state]
    while not env.mdp.terminal[s]:
        s = env._move(s, policy[s])
        if s in path:
            break
        path.append(s)
    return path


def reaches_treasure(env, path):
    return env.grid.ravel()[path[-1]] == TREASURE


def near(env, s, cells):
    """True when state ``s`` is one of ``cells`` or next to one (up, down, left or right)."""
    row, column = env.state_to_coordinate(s)
    return any(abs(row - r) + abs(column - c) <= 1 for r, c in cells)


def judge(env, estimated, gamma):
    """The three facts about an estimate, as a dict."""
    estimated = np.asarray(estimated, dtype=float).ravel()
    cells = env.grid.ravel()
    treasures = [env.state_to_coordinate(s) for s in np.flatnonzero(cells == TREASURE)]
    dangers = np.flatnonzero(cells == DANGER)
    open_cells = np.flatnonzero(~env.mdp.blocked)
    peak = int(open_cells[np.argmax(estimated[open_cells])])
    median = float(np.median(estimated[open_cells]))
    path = follow(env, greedy_policy(env, estimated, gamma))
    return {
        "peak": peak,
        "peak_near_treasure": near(env, peak, treasures),
        "median": median,
        "dangers": [int(s) for s in dangers],
        "danger_below_median": bool(np.all(estimated[dangers] < median)),
        "path": path,
        "reaches_treasure": bool(reaches_treasure(env, path)),
    }


def report(env, estimated, gamma):
    """Print the three facts, next to the teacher's route, and return them (``judge``)."""
    facts = judge(env, estimated, gamma)
    estimated = np.asarray(estimated, dtype=float).ravel()

    def where(s):
        row, column = env.state_to_coordinate(s)
        return f"row {row}, column {column}"

    def yes(flag):
        return "yes" if flag else "NO"

    print(f"1. Highest estimate {estimated[facts['peak']]:.2f} at {where(facts['peak'])}: "
          f"at or next to the Treasure? {yes(facts['peak_near_treasure'])}")
    if facts["dangers"]:
        values = ", ".join(f"{estimated[s]:.2f} at {where(s)}" for s in facts["dangers"])
        print(f"2. Danger estimated {values}; median of the cells {facts['median']:.2f}: "
              f"below the median? {yes(facts['danger_below_median'])}")
    else:
        print("2. This maze has no Danger cell.")
    teacher = follow(env, greedy_policy(env, env.mdp.reward, TEACHER_GAMMA))
    print(f"3. Following the policy planned on the estimate from the start: "
          f"{len(facts['path']) - 1} moves, reaches the Treasure? "
          f"{yes(facts['reaches_treasure'])} (the teacher's: {len(teacher) - 1} moves)")
    return facts


def plot_rewards(env, true_reward, estimated, gamma, title, path):
    """True and estimated reward side by side, on one colour scale centred at zero, with arrows.

    Each panel shows the greedy policy planned on its own reward (the true one: the teacher's).
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import CenteredNorm

    rows, columns = env.shape
    true_reward = np.asarray(true_reward, dtype=float).reshape(env.shape)
    estimated = np.asarray(estimated, dtype=float).reshape(env.shape)
    open_cells = ~env.mdp.blocked.reshape(env.shape)
    # One scale for both panels, so that a colour means the same number on each side.
    norm = CenteredNorm(vcenter=0.0, halfrange=max(np.abs(true_reward[open_cells]).max(),
                                                   np.abs(estimated[open_cells]).max(), 1e-9))
    fig, axes = plt.subplots(1, 2, figsize=(2 * (1.1 * columns + 1.4), 1.1 * rows + 1.2))
    panels = [(true_reward, TEACHER_GAMMA, "本当の報酬と教師の戦略\n(true reward)"),
              (estimated, gamma, "推定した報酬と、それで計画した戦略\n(estimated reward)")]
    for ax, (reward, plan_gamma, panel_title) in zip(axes, panels):
        env.plot_on_grid(reward, ax=ax, title=panel_title, norm=norm)
        ax.set_xlabel("列 (column)")
        ax.set_ylabel("行 (row)")
        draw_arrows(ax, env, greedy_policy(env, reward, plan_gamma))
        row, column = env.state_to_coordinate(env.start_state)
        ax.text(column - 0.42, row - 0.3, "スタート", fontsize=7, va="center")
    fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, path)
    return fig


def draw_arrows(ax, env, policy):
    """An arrow in every cell where the agent acts, pointing the way the policy goes."""
    acting = ~(env.mdp.terminal | env.mdp.blocked)
    for s in np.flatnonzero(acting):
        row, column = env.state_to_coordinate(s)
        d_row, d_column = ARROW_STEPS[policy[s]]
        ax.annotate("", xy=(column + 0.32 * d_column, row + 0.25 + 0.22 * d_row),
                    xytext=(column - 0.32 * d_column, row + 0.25 - 0.22 * d_row),
                    arrowprops={"arrowstyle": "->", "color": "black", "lw": 1.2})
    for s in np.flatnonzero(env.mdp.terminal):
        row, column = env.state_to_coordinate(s)
        label = "宝" if env.grid[row, column] == TREASURE else "危険"
        ax.text(column, row + 0.3, label, ha="center", va="center", fontsize=7)


def save_estimate(estimated, path):
    """Write the estimate as CSV: one line per row of the maze, one number per cell."""
    with atomic_path(path) as temporary:
        np.savetxt(temporary, np.asarray(estimated, dtype=float), delimiter=",", fmt="%.6f")
    print(f"Saved {path}")
    return path


def save_results(script_file, env, estimated, gamma, title):
    """A run folder with ``estimated_reward.csv`` and ``rewards.png``; returns the folder."""
    run_dir = new_run_dir(script_file)
    save_estimate(estimated, run_dir / "estimated_reward.csv")
    plot_rewards(env, env.mdp.reward, estimated, gamma, title, run_dir / "rewards.png")
    return run_dir
