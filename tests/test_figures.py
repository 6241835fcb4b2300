"""Figures a Japanese reader can read: no empty boxes, bands inside the possible rewards, the
maze's values and arrows where the plan puts them, and the lake's letters on the Q map."""

import io
import warnings

import common

import matplotlib
import numpy as np
import pytest

from DP.environment import ACTIONS
from DP.maze_figure import draw_plan, plot_plans
from DP.planner import SAMPLE_GRID
from DP.vectorized_planner import Environment, ValueIterationPlanner
from EL.frozen_lake_util import draw_q_value, lake_letters
from envs.frozen_lake import make_frozen_lake
from ML.discounted_return import DEFAULT_GAMMAS, DEFAULT_REWARDS, plot_discounting

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)


def planned_maze():
    env = Environment(SAMPLE_GRID)
    planner = ValueIterationPlanner(env)
    planner.plan(gamma=0.9)
    return env, planner


@pytest.fixture
def captured_figures(monkeypatch):
    """The figures ``common.plot_reward_history`` saves, kept open to be inspected."""
    saved = []
    monkeypatch.setattr(common, "save_figure", lambda fig, path: saved.append(fig))
    monkeypatch.setattr(common, "show_plot", lambda show=True: None)
    yield saved
    plt.close("all")


def band_limits(fig):
    (band,) = fig.axes[0].collections
    heights = np.concatenate([path.vertices[:, 1] for path in band.get_paths()])
    return heights.min(), heights.max()


def test_reward_band_stays_within_the_rewards_seen(captured_figures):
    # Mean 2/3 and std 0.47 in the first group: an unclipped band would reach 1.14.
    common.plot_reward_history([np.array([0, 1, 1]), np.array([1, 1, 1, 0])], "unused.png")
    low, high = band_limits(captured_figures[0])
    assert high == pytest.approx(1.0) and low == pytest.approx(2 / 3 - np.std([0, 1, 1]))


def test_reward_band_takes_explicit_bounds(captured_figures):
    common.plot_reward_history([np.array([0.0, 1.0])], "unused.png", low=0.2, high=0.9)
    assert band_limits(captured_figures[0]) == pytest.approx((0.2, 0.9))


def test_maze_figure_writes_each_value_and_draws_every_chosen_arrow():
    env, planner = planned_maze()
    arrows = planner.actions_log()[1]  # after one sweep most cells still tie: many arrows
    fig, ax = plt.subplots()
    draw_plan(ax, env.mdp, planner.log[1], arrows)
    texts = [text.get_text() for text in ax.texts]
    assert len(ax.patches) == arrows.sum() > env.mdp.n_states  # one arrow per chosen action
    values = np.asarray(planner.log[1]).ravel()
    ordinary = ~(env.mdp.terminal | env.mdp.blocked)
    assert sorted(texts[i] for i in range(len(texts)) if texts[i][0] in "-0123456789") == \
        sorted(f"{value:.2f}" for value in values[ordinary])
    assert texts.count("壁") == 1 and "宝\n+1.00" in texts and "危険\n-1.00" in texts
    plt.close(fig)


def test_maze_figure_points_arrows_the_way_the_plan_goes():
    env, planner = planned_maze()
    final = planner.actions_log()[-1]
    fig, ax = plt.subplots()
    draw_plan(ax, env.mdp, planner.V, final)
    start = env.mdp.n_states - env.mdp.n_columns  # lower left, where the plan goes up
    assert [a for a, chosen in zip(ACTIONS, final[start]) if chosen] == [ACTIONS[0]]
    row, column = divmod(start, env.mdp.n_columns)
    (arrow,) = [patch for patch in ax.patches
                if np.allclose(patch.get_path().vertices.mean(axis=0), (column, row), atol=0.5)]
    tip_y = arrow.get_path().vertices[:, 1].min()
    assert tip_y < row - 0.3  # it points up: towards smaller row numbers, inside its cell
    plt.close(fig)


def test_q_map_marks_start_holes_and_goal():
    env = make_frozen_lake()
    fig, ax = plt.subplots()
    draw_q_value(ax, np.zeros((16, 4)), 4, 4, letters=lake_letters(env))
    assert sorted(text.get_text() for text in ax.texts) == ["G", "H", "H", "H", "H", "S"]
    plt.close(fig)


@pytest.mark.parametrize("draw", [
    lambda: plot_discounting(DEFAULT_REWARDS, DEFAULT_GAMMAS),
    lambda: plot_plans(planned_maze()[0].mdp, [planned_maze()[1].V], [None], ["価値 (value)"]),
], ids=["discounting", "maze"])
def test_japanese_labels_need_no_missing_glyph(draw):
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="Glyph .* missing from font")
        fig = draw()
        fig.savefig(io.BytesIO(), format="png")
    assert any("\u3040" <= char <= "\u30ff" or "\u4e00" <= char <= "\u9fff"
               for text in fig.findobj(matplotlib.text.Text) for char in text.get_text())
    plt.close(fig)


def japanese(text):
    return any("\u3040" <= char <= "\u30ff" or "\u4e00" <= char <= "\u9fff" for char in text)


def day4_to_day6_figures(tmp_path, captured_figures):
    """The figures of the FN, MM and IM scripts, drawn from small made-up results."""
    from FN.fn_framework import Logger
    from IM import dagger_vs_cloning, irl_demo
    from MM import dyna_compare

    success = np.linspace(0.0, 1.0, 20)
    runs = {"Dyna (5 planning steps)": (np.ones(20), success),
            "Q-learning (no planning)": (np.zeros(20), success / 2)}
    curves = {(slippery, steps): np.array([success, success / 2])
              for slippery in (False, True) for steps in dyna_compare.COMPARE_PLANNING_STEPS}
    rates = np.array([[0.1, 0.5, 0.7], [0.2, 0.4, 0.7]])
    env = irl_demo.make_env()
    Logger(tmp_path).plot("Rewards", [1.0, 3.0, 2.0, 5.0], interval=2, show=False)
    return {
        "logger": captured_figures[0],
        "dyna_run": dyna_compare.plot_run(runs, tmp_path / "run.png", "Dyna"),
        "dyna_compare": dyna_compare.plot_comparison(curves, 10, tmp_path / "compare.png"),
        "dagger": dagger_vs_cloning.plot_comparison({"dagger": rates, "bc": rates / 2},
                                                    [10, 20, 40], 0.7, tmp_path / "dagger.png",
                                                    "DAgger"),
        "irl": irl_demo.plot_rewards(env, env.mdp.reward, env.mdp.reward, 0.9, "IRL",
                                     tmp_path / "irl.png"),
    }


def test_day4_to_day6_figures_speak_japanese_on_every_axis(tmp_path, captured_figures):
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="Glyph .* missing from font")
        figures = day4_to_day6_figures(tmp_path, captured_figures)
        for fig in figures.values():
            fig.savefig(io.BytesIO(), format="png")
    for name, fig in figures.items():
        # Colour bars are axes too; only the plots must name both their axes.
        plots = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
        assert plots, name
        for ax in plots:
            assert japanese(ax.get_xlabel()) and japanese(ax.get_ylabel()), (name, ax)
        texts = [text.get_text() for text in fig.findobj(matplotlib.text.Text)]
        assert any(japanese(text) for text in texts), name
        assert not any("per 10" in text or "per 2 " in text for text in texts), name


def test_the_logger_names_its_groups_of_episodes(tmp_path, captured_figures):
    from FN.fn_framework import Logger

    Logger(tmp_path).plot("Rewards", [1.0, 3.0, 2.0, 5.0], interval=2, show=False)
    labels = captured_figures[0].axes[0].get_legend_handles_labels()[1]
    assert "2 エピソードごとの平均 (mean of every 2 episodes)" in labels


def test_irl_figure_puts_every_reward_on_one_scale_and_frames_treasure_and_danger(tmp_path):
    from matplotlib.patches import Rectangle

    from IM import irl_demo

    env = irl_demo.make_env()
    visits = np.linspace(0.0, 1.5, 16).reshape(env.shape)
    fig = irl_demo.plot_rewards(env, env.mdp.reward,
                                {"2 倍": 2 * env.mdp.reward, "符号が逆": -env.mdp.reward}, 0.9,
                                "IRL", tmp_path / "irl.png", visits=visits, note="読み取れること")
    plots = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len(plots) == 4  # the visits, the true reward, two estimates
    # One colour scale for the three rewards, wide enough for the largest of them.
    limits = {(ax.images[0].norm.vmin, ax.images[0].norm.vmax) for ax in plots[1:]}
    assert limits == {(-2.0, 2.0)}
    assert len([ax for ax in fig.axes if ax.get_label() == "<colorbar>"]) == 2
    for ax in plots:
        frames = {(patch.get_x() + 0.47, patch.get_y() + 0.47)
                  for patch in ax.patches if isinstance(patch, Rectangle)}
        assert frames == {(3.0, 0.0), (1.0, 2.0)}  # (column, row) of the Treasure, the Danger
    assert "読み取れること" in [text.get_text() for text in fig.texts]
    plt.close(fig)


@pytest.mark.slow
def test_day4_curves_put_every_seed_on_the_same_steps(tmp_path, monkeypatch):
    from tests.script_modules import load_script

    make_figures = load_script("doc/make_figures.py")
    monkeypatch.setitem(make_figures.CARTPOLE_RUNS, "dqn", (2_000, 500))
    steps, scores, agent = make_figures.cartpole_curves("dqn", tmp_path, seeds=(0, 1))
    assert scores.shape == (2, len(steps)) and len(steps) >= 2
    np.testing.assert_array_equal(steps, 500 * np.arange(1, len(steps) + 1))
    assert ((0 <= scores) & (scores <= 500)).all()
    assert agent.greedy_actions(np.zeros((3, 4), dtype=np.float32)).shape == (3,)
