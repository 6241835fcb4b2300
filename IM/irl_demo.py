"""Day6: what the two inverse-RL demos share — the maze, the teacher, and how to judge a guess.

``IM/maxent.py`` and ``IM/bayesian.py`` run one experiment with two estimators: a teacher
that knows the true reward plans with it and walks from the start (``--grid FILE``: a maze
saved by the Day2 simulator); the estimator sees only these walks and guesses every cell's
reward. A reward read from behaviour is fixed only up to what the behaviour shows (a constant
added, or a scale, changes no decision), so the guess is not compared number by number. Three
facts are checked instead (``judge``): the highest estimate is at or next to a Treasure; every
Danger cell is below the median cell; the policy planned on the estimate walks from the start
to a Treasure, as the teacher's does. The figure draws both rewards on one colour scale
centred at zero, each with the policy planned on it, beside how often the teacher enters each
cell.
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
        return f"{row} 行 {column} 列"

    def yes(flag):
        return "はい (yes)" if flag else "いいえ (NO)"

    print(f"1. 推定した報酬の最大 (highest estimate) は {where(facts['peak'])} の "
          f"{estimated[facts['peak']]:.2f}。宝 (Treasure) かその隣か: "
          f"{yes(facts['peak_near_treasure'])}")
    if facts["dangers"]:
        values = "、".join(f"{where(s)} の {estimated[s]:.2f}" for s in facts["dangers"])
        print(f"2. 危険 (Danger) の推定は {values}、マスの中央値 (median) は "
              f"{facts['median']:.2f}。中央値より低いか: {yes(facts['danger_below_median'])}")
    else:
        print("2. この迷路には危険 (Danger) のマスがありません。")
    teacher = follow(env, greedy_policy(env, env.mdp.reward, TEACHER_GAMMA))
    print(f"3. 推定した報酬で計画した戦略でスタートから進むと {len(facts['path']) - 1} 手。"
          f"宝に着くか (reaches the Treasure): {yes(facts['reaches_treasure'])} "
          f"(教師の戦略は {len(teacher) - 1} 手)")
    return facts


def visit_counts(env, demonstrations):
    """How many times, on average per walk, the teacher's walks enter each cell (grid-shaped)."""
    counts = np.zeros(env.observation_space.n)
    for states, _ in demonstrations:
        np.add.at(counts, np.asarray(states, dtype=int), 1)
    return (counts / len(demonstrations)).reshape(env.shape)


def plot_rewards(env, true_reward, estimated, gamma, title, path, visits=None, note=None):
    """The true reward and the estimates side by side, on one colour scale centred at zero.

    ``estimated`` is one estimate, or a dict ``{panel title: estimate}`` to compare several.
    Each panel shows the greedy policy planned on its own reward (the true one: the
    teacher's), with the Treasure and Danger cells framed. ``visits`` (``visit_counts``) adds
    a first panel with how often the teacher's walks enter each cell; ``note`` a caption.
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import CenteredNorm, Normalize

    if not isinstance(estimated, dict):
        estimated = {"推定した報酬と、それで計画した戦略\n(estimated reward)": estimated}
    rewards = [(np.asarray(true_reward, dtype=float).reshape(env.shape), TEACHER_GAMMA,
                "本当の報酬と教師の戦略\n(true reward)")]
    rewards += [(np.asarray(reward, dtype=float).reshape(env.shape), gamma, panel_title)
                for panel_title, reward in estimated.items()]
    open_cells = ~env.mdp.blocked.reshape(env.shape)
    # One scale for every reward panel, so that a colour means the same number on each.
    norm = CenteredNorm(vcenter=0.0, halfrange=max(max(np.abs(r[open_cells]).max()
                                                       for r, _, _ in rewards), 1e-9))
    panels = len(rewards) + (visits is not None)
    rows, columns = env.shape
    note_lines = 0 if not note else note.count("\n") + 1
    height = 0.95 * rows + 1.8 + 0.2 * note_lines
    fig, axes = plt.subplots(1, panels, figsize=(panels * (0.95 * columns + 0.5) + 1.2, height),
                             layout="constrained", squeeze=False)
    axes = list(axes[0])
    if note:
        # Leave the bottom of the figure to the caption, outside the panels' layout.
        bottom = (0.2 * note_lines + 0.1) / height
        fig.get_layout_engine().set(rect=(0, bottom, 1, 1 - bottom))
        fig.text(0.01, bottom - 0.02, note, fontsize=9, va="top", ha="left")
    if visits is not None:
        ax = axes.pop(0)
        # Light colours (the scale reaches past the largest count) keep the numbers readable.
        image = draw_cells(ax, env, visits, "Blues", Normalize(0, 1.6 * np.max(visits)),
                           "{:.2f}")
        ax.set_title("教師が各マスに入る回数\n(visits per walk)")
        bar = fig.colorbar(image, ax=ax, location="bottom", shrink=0.8, label="1 本あたりの回数")
        bar.ax.set_xlim(0, np.max(visits))
    for ax, (reward, plan_gamma, panel_title) in zip(axes, rewards):
        image = draw_cells(ax, env, reward, "RdYlGn", norm, "{:+.2f}")
        ax.set_title(panel_title)
        draw_arrows(ax, env, greedy_policy(env, reward, plan_gamma))
    fig.colorbar(image, ax=axes, location="bottom", shrink=0.5, aspect=40,
                 label="報酬 (reward): すべてのパネルで同じ色の目盛り")
    fig.suptitle(title)
    save_figure(fig, path)
    return fig


def draw_cells(ax, env, values, cmap, norm, number_format):
    """One coloured square per cell with its number, the start named, Treasure and Danger
    framed (thick black: Danger, thick gold: Treasure)."""
    from matplotlib.patches import Rectangle

    values = np.asarray(values, dtype=float).reshape(env.shape)
    image = ax.imshow(values, cmap=cmap, norm=norm)
    for (row, column), value in np.ndenumerate(values):
        ax.text(column, row - 0.12, number_format.format(value), ha="center", va="center",
                fontsize=8)
    for (row, column), cell in np.ndenumerate(env.grid):
        if cell in (TREASURE, DANGER):
            ax.add_patch(Rectangle((column - 0.47, row - 0.47), 0.94, 0.94, fill=False, lw=3,
                                   edgecolor="black" if cell == DANGER else "goldenrod"))
            ax.text(column, row + 0.3, "宝" if cell == TREASURE else "危険", ha="center",
                    va="center", fontsize=8)
    row, column = env.state_to_coordinate(env.start_state)
    ax.text(column - 0.45, row - 0.38, "スタート", fontsize=7, va="center")
    ax.set_xticks(range(env.ncol))
    ax.set_yticks(range(env.nrow))
    ax.set_xlabel("列 (column)")
    ax.set_ylabel("行 (row)")
    return image


def draw_arrows(ax, env, policy):
    """An arrow in every cell where the agent acts, pointing the way the policy goes."""
    acting = ~(env.mdp.terminal | env.mdp.blocked)
    for s in np.flatnonzero(acting):
        row, column = env.state_to_coordinate(s)
        d_row, d_column = ARROW_STEPS[policy[s]]
        ax.annotate("", xy=(column + 0.32 * d_column, row + 0.25 + 0.22 * d_row),
                    xytext=(column - 0.32 * d_column, row + 0.25 - 0.22 * d_row),
                    arrowprops={"arrowstyle": "->", "color": "black", "lw": 1.2})


def save_estimate(estimated, path):
    """Write the estimate as CSV: one line per row of the maze, one number per cell."""
    with atomic_path(path) as temporary:
        np.savetxt(temporary, np.asarray(estimated, dtype=float), delimiter=",", fmt="%.6f")
    print(f"Saved {path}")
    return path


def save_results(script_file, env, estimated, gamma, title, demonstrations=None):
    """A run folder with ``estimated_reward.csv`` and ``rewards.png`` (with the teacher's visits
    when ``demonstrations`` are given); returns the folder."""
    run_dir = new_run_dir(script_file)
    save_estimate(estimated, run_dir / "estimated_reward.csv")
    visits = None if demonstrations is None else visit_counts(env, demonstrations)
    plot_rewards(env, env.mdp.reward, estimated, gamma, title, run_dir / "rewards.png",
                 visits=visits)
    return run_dir
