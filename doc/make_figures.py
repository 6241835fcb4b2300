"""Draw the figures of the README's study guide into ``doc/``, with the project's own code.

    python doc/make_figures.py           # every figure
    python doc/make_figures.py day2      # only the figures whose file name starts with day2

Each figure is one function below, registered with ``@figure("<file name>")``: it draws with
the same functions the day's scripts and notebook use, and saves to the path it is given. A new
day adds its function and a link in the README; nothing else changes. Every figure is drawn
with a fixed seed, so running the script again redraws the same lessons.

A figure whose text needs a character that the font lacks (it would show as an empty box) stops
the script with an error, instead of being saved.

``methods_table`` writes the README's Day3 table from ``EL/compare_methods.py``'s data (the
book's three axes), so the README and the comparison can never disagree:
``tests/test_doc.py`` checks that the README holds the table as this function writes it.
"""

import argparse
import warnings
from pathlib import Path

from common import save_figure, set_seed

import numpy as np

DOC = Path(__file__).resolve().parent
FIGURES = {}


def figure(file_name):
    """Register the decorated ``draw(path)`` as the function that makes ``doc/<file_name>``."""
    def register(draw):
        FIGURES[file_name] = draw
        return draw
    return register


@figure("day1_discounting.png")
def day1_discounting(path):
    """Day1: how much a reward k steps ahead counts, and the return as rewards add up."""
    from ML.discounted_return import DEFAULT_GAMMAS, DEFAULT_REWARDS, plot_discounting

    save_figure(plot_discounting(DEFAULT_REWARDS, DEFAULT_GAMMAS), path)


@figure("day2_value_iteration.png")
def day2_value_iteration(path):
    """Day2: Value Iteration on the book's maze, the values spreading out from the treasure."""
    from DP.maze_figure import plot_plans
    from DP.planner import SAMPLE_GRID
    from DP.vectorized_planner import Environment, ValueIterationPlanner

    env = Environment(SAMPLE_GRID)
    planner = ValueIterationPlanner(env)
    planner.plan(gamma=0.9)
    sweeps = [1, 2, 3, planner.iterations]
    arrows = planner.actions_log()
    fig = plot_plans(env.mdp, [planner.log[i] for i in sweeps], [arrows[i] for i in sweeps],
                     [f"スイープ {i}" for i in sweeps], columns=4,
                     suptitle="価値反復法 (Value Iteration): 価値が宝から広がり、矢印が計画になる")
    save_figure(fig, path)


@figure("day3_methods.png")
def day3_methods(path, episodes=2000, seeds=5):
    """Day3: the book's seven methods on one lake, success of the greedy policy over time."""
    from EL.compare_methods import BOOK_METHODS, METHODS, plot, success_curve

    results = {name: np.mean([success_curve(name, episodes, seed) for seed in range(seeds)],
                             axis=0)
               for name in list(METHODS)[:BOOK_METHODS]}
    plot(results, 0.9, path, f"Day3 の手法: greedy な戦略がゴールする確率 ({seeds} シードの平均)",
         show=False)


def cartpole_run(algorithm, seed, log_dir, max_steps, evaluation=None):
    """A CartPole run of the book's test mode (``--test``); returns ``(trainer, agent)``.

    ``evaluation`` replaces entries of the script's periodic evaluation (``interval``,
    ``episode_count``, ``target``); the step budget, not an episode count, ends the run."""
    from FN import a2c_agent, dqn_agent

    module = {"dqn": dqn_agent, "a2c": a2c_agent}[algorithm]
    trainer, env = module.make_run(test_mode=True, seed=seed, log_dir=str(log_dir),
                                   evaluation=evaluation, report_interval=10**6)
    return trainer, trainer.train(env, episode_count=10**6, test_mode=True,
                                  max_steps=max_steps)


# Day4's curves: each algorithm on these seeds, for this many steps, evaluated this often. The
# target is off, so a run does not stop at its first 475 and the curve shows what comes after.
CARTPOLE_SEEDS = range(5)
CARTPOLE_RUNS = {"dqn": (50_000, 500), "a2c": (60_000, 1_000)}


def cartpole_curves(algorithm, folder, seeds=CARTPOLE_SEEDS):
    """``(steps, scores, agent)``: the greedy evaluations of every seed (one row each) at the
    same steps, and the first seed's agent with its best evaluation's weights."""
    max_steps, interval = CARTPOLE_RUNS[algorithm]
    rows, agent = [], None
    for seed in seeds:
        trainer, trained = cartpole_run(algorithm, seed, Path(folder) / f"{algorithm}{seed}",
                                        max_steps, {"interval": interval, "target": None})
        rows.append([score for _, score in trainer.evaluation.results])
        agent = trained if agent is None else agent
    # A2C steps 16 environments at once, so its k-th evaluation falls a few steps after
    # k × interval; the curves are drawn at k × interval.
    count = min(map(len, rows))
    return interval * np.arange(1, count + 1), np.array([row[:count] for row in rows]), agent


@figure("day4_cartpole.png")
def day4_cartpole(path):
    """Day4: DQN (values) and A2C (a policy) learn CartPole on 5 seeds; what each network has
    learned."""
    import tempfile

    import matplotlib.pyplot as plt

    from FN.dqn_agent import TEST_MODE_EVALUATION

    with tempfile.TemporaryDirectory() as folder:
        curves = {name: cartpole_curves(name, folder) for name in ("dqn", "a2c")}
    # The pole's angle and angular velocity, with the cart at rest in the middle.
    angles, spins = np.linspace(-0.2, 0.2, 41), np.linspace(-2.0, 2.0, 41)
    grid = np.array([[0.0, 0.0, angle, spin] for spin in spins for angle in angles],
                    dtype=np.float32)
    shape = (len(spins), len(angles))
    first = CARTPOLE_SEEDS[0]
    maps = {"dqn": (curves["dqn"][2].greedy_actions(grid).reshape(shape),
                    f"DQN が選ぶ行動: Q 値の大きいほう (シード {first})"),
            "a2c": (np.array([curves["a2c"][2].estimate(s)[1] for s in grid]).reshape(shape),
                    f"A2C の戦略: 右へ押す確率 π(右|s) (シード {first})")}
    names = {"dqn": "DQN (価値を学ぶ, value-based)", "a2c": "A2C (戦略を学ぶ, policy-based)"}

    fig, axes = plt.subplots(2, 2, figsize=(13, 8.5), layout="constrained",
                             gridspec_kw={"width_ratios": [1.5, 1]})
    extent = (angles[0], angles[-1], spins[0], spins[-1])
    for row, (name, (steps, scores, _)) in enumerate(curves.items()):
        ax = axes[row, 0]
        for seed, score in zip(CARTPOLE_SEEDS, scores):
            ax.plot(steps, score, linewidth=0.8, alpha=0.45, label=f"シード {seed}")
        mean, std = scores.mean(axis=0), scores.std(axis=0)
        ax.fill_between(steps, np.clip(mean - std, 0, 500), np.clip(mean + std, 0, 500),
                        color="black", alpha=0.12, label="平均 ± 標準偏差 (mean ± std)")
        ax.plot(steps, mean, color="black", linewidth=2.2, label=f"{len(scores)} シードの平均")
        ax.axhline(475, color="grey", linestyle=":", label="解けた目安 475 (solved)")
        solved = int((scores >= 475).any(axis=1).sum())
        ax.set_title(f"{names[name]}: 探索なしの戦略の評価\n"
                     f"一度でも 475 に届いたシード {solved}/{len(scores)}、"
                     f"最後の評価の平均 {mean[-1]:.0f}")
        ax.set_ylim(0, 510)
        ax.set_xlim(0, steps[-1])
        ax.set_xlabel("環境のステップ数 (environment steps)")
        ax.set_ylabel(f"評価の平均報酬 ({TEST_MODE_EVALUATION['episode_count']} エピソード)")
        ax.grid(alpha=0.3)
        values, title = maps[name]
        image = axes[row, 1].imshow(values, origin="lower", extent=extent, aspect="auto",
                                    cmap="coolwarm", vmin=0, vmax=1)
        axes[row, 1].set_title(title + "\n最良の評価の重み (the kept best weights)")
        axes[row, 1].set_xlabel("棒の角度 (pole angle, rad, 正 = 右へ傾く)")
        axes[row, 1].set_ylabel("棒の角速度 (pole angular velocity)")
    fig.colorbar(image, ax=axes[:, 1], label="右へ押す (push right): 1 = 右, 0 = 左")
    # One legend below the panels (both curves' lines look alike), clear of the data.
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="outside lower center", ncol=8,
               fontsize="small")
    fig.suptitle(f"Day4: CartPole を価値 (DQN) と戦略 (A2C) のネットワークで学ぶ "
                 f"({len(CARTPOLE_SEEDS)} シード、目標に届いても止めずに学習を続けた評価)")
    save_figure(fig, path)


def read_scalars(tensorboard_dir, tag):
    """``(steps, values)`` of one scalar that ``FN.fn_framework.Logger`` wrote for TensorBoard."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.util.tensor_util import make_ndarray

    events = EventAccumulator(str(tensorboard_dir), size_guidance={"tensors": 0})
    events.Reload()
    records = events.Tensors(tag)
    return ([record.step for record in records],
            [make_ndarray(record.tensor_proto).item() for record in records])


@figure("day5_seeds.png")
def day5_seeds(path, seeds=CARTPOLE_SEEDS):
    """Day5: the same DQN on 5 seeds, read back from its TensorBoard logs: how far apart the
    runs go, and what keeping the best evaluation's weights saves of each."""
    import tempfile

    import matplotlib.pyplot as plt

    max_steps, interval = CARTPOLE_RUNS["dqn"]
    runs = []
    with tempfile.TemporaryDirectory() as folder:
        for seed in seeds:
            trainer, _ = cartpole_run("dqn", seed, Path(folder) / f"seed{seed}", max_steps,
                                      {"interval": interval, "target": None})
            runs.append(read_scalars(trainer.logger.tensorboard_dir, "charts/eval_return"))
    count = min(len(steps) for steps, _ in runs)
    steps = np.array(runs[0][0][:count])
    scores = np.array([values[:count] for _, values in runs])
    mean, std = scores.mean(axis=0), scores.std(axis=0)

    fig, (now, best) = plt.subplots(1, 2, figsize=(13, 4.8), sharey=True, layout="constrained")
    for seed, score in zip(seeds, scores):
        line, = now.plot(steps, score, linewidth=0.9, alpha=0.6, label=f"シード {seed}")
        best.plot(steps, np.maximum.accumulate(score), color=line.get_color(), linewidth=1.5,
                  label=f"シード {seed}")
    now.fill_between(steps, np.clip(mean - std, 0, 500), np.clip(mean + std, 0, 500),
                     color="black", alpha=0.12, label="平均 ± 標準偏差 (mean ± std)")
    now.plot(steps, mean, color="black", linewidth=2.2, label="平均 (mean)")
    now.set_title("その時点の重みの評価: シードだけで学び方がこれほど違う\n"
                  "(TensorBoard のログ charts/eval_return から)")
    kept = np.maximum.accumulate(scores, axis=1)[:, -1]
    best.set_title("それまでで最良の評価 = Trainer が残す重み (keep_best)\n"
                   f"最後に残る重みの評価: {', '.join(f'{score:.0f}' for score in kept)}")
    for ax in (now, best):
        ax.axhline(475, color="grey", linestyle=":", label="解けた目安 475 (solved)")
        ax.set_ylim(0, 510)
        ax.set_xlim(0, steps[-1])
        ax.set_xlabel("環境のステップ数 (environment steps)")
        ax.grid(alpha=0.3)
    now.set_ylabel("評価の平均報酬 (20 エピソード, 探索なし)")
    best.set_ylabel("それまでの最高 (best so far)")
    # The legend of both panels, where the right one has no lines.
    best.legend(*now.get_legend_handles_labels(), loc="lower right", fontsize="small", ncol=2)
    fig.suptitle(f"Day5: 同じ DQN・同じ設定で、シードだけが違う {len(seeds)} 回の学習"
                 "と、最良の重みを残す仕組み")
    save_figure(fig, path)


@figure("day6_dyna.png")
def day6_dyna(path, seeds=3, episodes=500):
    """Day6: Dyna saves real episodes: 0, 5 and 50 planning steps on both lakes."""
    from MM.dyna_compare import compare, plot_comparison

    plot_comparison(compare(range(seeds), episodes, eval_interval=10, n_jobs=1), 10, path)


@figure("day6_irl.png")
def day6_irl(path, seed=0):
    """Day6: MaxEnt and Bayesian inverse RL read the reward behind a teacher's walks, with the
    scripts' defaults (100 walks, 100 epochs), beside how often the teacher enters each cell."""
    from DP.environment import DANGER
    from IM import bayesian, maxent
    from IM.irl_demo import make_env, plot_rewards, teacher_demonstrations, visit_counts

    set_seed(seed)
    env = make_env()
    demonstrations = teacher_demonstrations(env, maxent.TRAJECTORIES, seed=seed)
    estimates = {
        "最大エントロピー逆強化学習の推定\n(MaxEnt IRL)": maxent.MaxEntIRL(env).estimate(
            [states for states, _ in demonstrations], epoch=maxent.EPOCH),
        "ベイズ逆強化学習の推定\n(Bayesian IRL)": bayesian.BayesianIRL(env).estimate(
            [list(zip(states, actions)) for states, actions in demonstrations],
            epoch=bayesian.EPOCH),
    }
    visits = visit_counts(env, demonstrations)
    danger = tuple(np.argwhere(env.grid == DANGER)[0])
    slipped = round(visits[danger] * len(demonstrations))
    note = ("読み取れること: どちらの推定も最大は宝のマスで、推定で計画した矢印 (戦略) は"
            "教師と同じ道で宝へ向かう。危険は全マスの中央値より低い。\n"
            "足りないこと: 危険は際立たない。教師がほとんど通らないマス (2 行 2 列) も、"
            "教師の道のりのマス (スタートなど) も、危険と同じくらいか、もっと低い。\n"
            "歩き方から分かるのは「どちらへ進むか」だけで、報酬の値そのもの"
            " (定数を足す・何倍かする違い) は決まらない。道のりのマスが負なのは、\n"
            "1 歩ごとのコスト (早く宝へ着くほど良い) とも読める。教師が危険に入るのは"
            f"滑ったときだけ ({len(demonstrations)} 本中 {slipped} 本) で、"
            "そこで歩きが終わるので、歩き方は「危険がどれだけ悪いか」を語らない。")
    plot_rewards(env, env.mdp.reward, estimates, 0.9,
                 f"Day6: 教師の {len(demonstrations)} 本の歩き方から報酬を推定する (逆強化学習, "
                 f"シード {seed})", path, visits=visits, note=note)


def methods_table():
    """The README's Day3 table, in Markdown: the book's methods on its three axes."""
    from EL.compare_methods import AXIS_WORDS, BOOK_METHODS, METHODS

    lines = ["| 手法 | 修正方法 (予測 / 実績) | 修正対象 (価値 / 戦略) | 見積り前提 | スクリプト |",
             "| --- | --- | --- | --- | --- |"]
    for name, (_, correction, updates, assumption, file) in list(METHODS.items())[:BOOK_METHODS]:
        cells = (name, AXIS_WORDS[correction], AXIS_WORDS[updates], AXIS_WORDS[assumption],
                 f"[`EL/{file}`](EL/{file})")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Draw the README's study-guide figures into doc/ and print the Day3 table."
    )
    parser.add_argument("prefixes", nargs="*",
                        help="draw only the figures whose file name starts with one of these "
                             f"(default: all of {', '.join(FIGURES)})")
    parser.add_argument("--out", type=Path, default=DOC,
                        help="folder to write the figures into (default: doc/)")
    args = parser.parse_args(argv)
    chosen = [name for name in FIGURES
              if not args.prefixes or any(name.startswith(p) for p in args.prefixes)]
    if not chosen:
        parser.error(f"no figure starts with {' or '.join(args.prefixes)}; the figures are "
                     f"{', '.join(FIGURES)}")

    import matplotlib

    matplotlib.use("Agg")  # files only: this script never opens a window
    import matplotlib.pyplot as plt

    with warnings.catch_warnings():
        # matplotlib warns "Glyph ... missing from font(s)" and then draws an empty box.
        warnings.filterwarnings("error", message="Glyph .* missing from font")
        for name in chosen:
            FIGURES[name](args.out / name)
            plt.close("all")
    print("\nThe README's Day3 table:\n" + methods_table())


if __name__ == "__main__":
    main()
