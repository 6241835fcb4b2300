import csv
import json

from common import set_seed

import numpy as np
import pytest
from gymnasium import spaces

from envs.frozen_lake import make_frozen_lake, success_probability
from MM import dyna, dyna_compare
from MM.dyna import DynaAgent, Model


class TruncatingChain:
    """A world of three states in which every episode from state 0 is cut short.

    Episodes start at 0 and at 1 in turn. From 0 any action leads to 1 with reward 0, and the
    time limit truncates the episode right there. From 1 any action reaches the end (2) with
    reward 1: terminated. So Q(1, ·) = 1 and, because state 1 goes on after a truncation,
    Q(0, ·) = γ · 1. A learner that took truncation for the end of the world would keep
    Q(0, ·) at 0.
    """

    observation_space = spaces.Discrete(3)
    action_space = spaces.Discrete(2)

    def __init__(self):
        self.episodes = 0
        self.state = 0

    def reset(self, seed=None):
        self.state = self.episodes % 2
        self.episodes += 1
        return self.state, {}

    def step(self, action):
        if self.state == 0:
            self.state = 1
            return 1, 0.0, False, True, {}
        self.state = 2
        return 2, 1.0, True, False, {}


def test_update_bootstraps_unless_the_episode_terminated():
    agent = DynaAgent()
    agent.actions = [0, 1]
    agent.value = {0: [0.0, 0.0], 1: [2.0, 4.0]}
    agent.update(0, 1, 1.0, 1, gamma=0.5, learning_rate=1.0)
    assert agent.value[0] == [0.0, 3.0]  # 1 + 0.5 * max(2, 4)
    agent.update(0, 0, 1.0, 1, gamma=0.5, learning_rate=0.25, terminated=True)
    assert agent.value[0] == [0.25, 3.0]  # 0 + 0.25 * (1 - 0): nothing after the end


@pytest.mark.parametrize("steps_in_model", [0, 5])
def test_truncation_is_not_the_end_of_the_world(steps_in_model):
    set_seed(0)
    agent = DynaAgent()
    agent.learn(TruncatingChain(), episode_count=400, gamma=0.9, steps_in_model=steps_in_model,
                report_interval=0)
    best = agent.q_table(3).max(axis=1)  # the greedy action's value, learned the most
    assert best[1] == pytest.approx(1.0, abs=0.02)
    assert best[0] == pytest.approx(0.9, abs=0.05)


@pytest.mark.parametrize("steps_in_model, planned", [(0, []), (-1, []), (1, [1] * 4)])
def test_each_real_step_plans_steps_in_model_imagined_ones(steps_in_model, planned,
                                                           monkeypatch):
    # Every episode of TruncatingChain is one real step (truncated from 0, terminated from 1),
    # and with planning each real step is followed by steps_in_model imagined ones.
    calls = []
    simulate = Model.simulate

    def counted(self, count):
        calls.append(count)
        return simulate(self, count)

    monkeypatch.setattr(Model, "simulate", counted)
    set_seed(0)
    DynaAgent().learn(TruncatingChain(), episode_count=4, steps_in_model=steps_in_model,
                      report_interval=0)
    assert calls == planned


def test_q_table_is_zero_where_the_agent_never_was():
    agent = DynaAgent()
    agent.actions = [0, 1]
    agent.value = {1: [0.5, 2.0]}
    assert agent.q_table(3).tolist() == [[0.0, 0.0], [0.5, 2.0], [0.0, 0.0]]


def test_simulate_returns_only_seen_state_action_pairs():
    set_seed(0)
    model = Model(actions=[0, 1, 2, 3])
    assert list(model.simulate(10)) == []  # nothing seen yet: nothing to imagine
    seen = {(0, 1): {(4, 0.0)}, (4, 2): {(4, 0.0), (8, 0.0)}, (14, 2): {(15, 1.0)}}
    for (s, a), outcomes in seen.items():
        for next_state, reward in sorted(outcomes):
            model.update(s, a, reward, next_state)
    samples = list(model.simulate(500))
    assert len(samples) == 500
    for s, a, reward, next_state in samples:
        assert (s, a) in seen
        assert (next_state, reward) in seen[(s, a)]
    # Every seen pair gets drawn, and a stochastic pair yields both of its next states.
    assert {(s, a) for s, a, _, _ in samples} == set(seen)
    assert {n for s, a, _, n in samples if (s, a) == (4, 2)} == {4, 8}


def test_model_transit_follows_counts_and_reward_is_the_mean():
    set_seed(1)
    model = Model(actions=[0, 1])
    for _ in range(3):
        model.update(0, 1, 1.0, 5)
    model.update(0, 1, 0.0, 6)
    assert model.reward(0, 1) == pytest.approx(0.75)
    draws = [model.transit(0, 1) for _ in range(4000)]
    assert np.mean(np.array(draws) == 5) == pytest.approx(0.75, abs=0.03)


@pytest.mark.learning
def test_planning_reaches_the_success_threshold_in_fewer_episodes(margin):
    seeds = range(8)
    results = dyna_compare.compare(seeds, episode_count=300, eval_interval=10,
                                   slippery_values=(False,), n_jobs=1)
    # Per seed, the first episode at which the greedy policy succeeds 90% of the time; a seed
    # that never gets there counts as the whole budget (which only flatters no planning).
    reached = {steps: np.nan_to_num(dyna.episodes_to_reach(results[(False, steps)], 10),
                                    nan=300).mean()
               for steps in dyna_compare.COMPARE_PLANNING_STEPS}
    margin("episodes with 50 planning steps ÷ without", reached[50] / reached[0], below=0.5)
    margin("episodes with 5 planning steps ÷ without", reached[5] / reached[0], below=1)
    # Every run ends with a greedy policy that reaches the goal.
    assert np.all(results[(False, 50)][:, -1] == pytest.approx(1.0))


def test_episodes_to_reach_counts_from_one():
    curves = np.array([[0.0, 0.5, 0.95, 1.0], [0.0, 0.0, 0.0, 0.8]])
    reached = dyna.episodes_to_reach(curves, eval_interval=10)
    assert reached[0] == 30 and np.isnan(reached[1])


def test_episodes_to_reach_counts_each_seed_and_the_threshold_itself():
    # Exactly at the threshold counts as reached; each row (seed) has its own first time.
    at = dyna.SUCCESS_THRESHOLD
    curves = np.array([[0.0, 0.0, at, 1.0], [at, 0.0, 0.0, 0.0], [0.0, 1.0, 1.0, 1.0]])
    np.testing.assert_array_equal(dyna.episodes_to_reach(curves, eval_interval=5), [15, 5, 10])
    np.testing.assert_array_equal(dyna.episodes_to_reach([0.0, at], 10, threshold=at), [20])


def test_the_figures_name_the_lake_and_each_run_by_its_planning_steps():
    figures = dyna_compare
    assert "slippery" in figures.lake_name(True) and "slippery" not in figures.lake_name(False)
    assert "no planning" in figures.planning_label(0)
    for steps in (1, 10, 50):
        assert f"{steps} planning steps" in figures.planning_label(steps)
    # A single run's label (as run_single names it) gets the legend of its step count.
    assert figures.run_label("Q-learning (no planning)") == figures.planning_label(0)
    for steps in (1, 10, 50):
        assert figures.run_label(f"Dyna ({steps} planning steps)") == figures.planning_label(steps)


def test_dyna_agent_learns_the_easy_lake_with_a_model():
    env = make_frozen_lake()
    set_seed(3, env)
    agent = DynaAgent()
    rewards = agent.learn(env, episode_count=150, steps_in_model=20, report_interval=50)
    assert len(rewards) == 150
    assert success_probability(env, agent.q_table(16)) == pytest.approx(1.0)


def read_run(folder):
    with open(folder / "rewards.csv", newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def test_a_dyna_run_prints_when_it_succeeds_and_saves_its_curves(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RL_BOOK_OUTPUT_DIR", str(tmp_path))
    rewards, success = dyna.main(["--episodes", "120", "--modelstep", "50", "--seed", "0"])
    out = capsys.readouterr().out
    assert "At episode 100, reward is" in out
    # Seed 0: Dyna's greedy policy reaches 0.9 after a handful of episodes.
    assert ("Dyna (プランニング 50 ステップ, planning steps): 9 エピソードで成功率 0.9 に届きました"
            in out)
    assert len(rewards) == len(success) == 120
    assert success[8] >= 0.9 > success[7]
    (first_run,) = (tmp_path / "MM" / "dyna").iterdir()
    rows = read_run(first_run)
    assert len(rows) == 120 and set(rows[0]) == {"episode", "reward", "success"}
    assert float(rows[8]["success"]) == pytest.approx(success[8])
    record = json.loads((first_run / "run.json").read_text())
    assert record["status"] == "finished" and record["episodes_to_success"] == 9
    # A second run gets a folder of its own and leaves the first one as it was.
    before = (first_run / "rewards.csv").read_bytes()
    dyna.main(["--episodes", "5", "--modelstep", "0"])
    assert "Q-learning: 成功率 0.9 に届きません (does not reach 0.9 within the run)" in \
        capsys.readouterr().out
    assert len(list((tmp_path / "MM" / "dyna").iterdir())) == 2
    assert (first_run / "rewards.csv").read_bytes() == before


def test_a_single_comparison_saves_its_curves_next_to_plain_q_learning(tmp_path, monkeypatch,
                                                                       capsys):
    monkeypatch.setenv("RL_BOOK_OUTPUT_DIR", str(tmp_path))
    runs = dyna_compare.main(["--episodes", "120", "--modelstep", "50", "--seed", "0",
                              "--no-show"])
    out = capsys.readouterr().out
    # Seed 0: Dyna's greedy policy reaches 0.9 after a handful of episodes; Q-learning, with
    # the same seed, not within 120.
    assert "Dyna (50 planning steps): 9 エピソードで成功率 0.9 に届きました" in out
    assert "Q-learning (no planning): 成功率 0.9 に届きません" in out
    dyna_rewards, dyna_success = runs["Dyna (50 planning steps)"]
    assert len(dyna_rewards) == len(dyna_success) == 120
    (first_run,) = (tmp_path / "MM" / "dyna_compare").iterdir()
    rows = read_run(first_run)
    assert len(rows) == 120
    assert set(rows[0]) == {"episode", "Dyna (50 planning steps)_reward",
                            "Dyna (50 planning steps)_success",
                            "Q-learning (no planning)_reward",
                            "Q-learning (no planning)_success"}
    assert float(rows[8]["Dyna (50 planning steps)_success"]) == pytest.approx(dyna_success[8])
    assert (first_run / "rewards.png").stat().st_size > 0
    record = json.loads((first_run / "run.json").read_text())
    assert record["status"] == "finished"
    assert record["episodes_to_success"]["Dyna (50 planning steps)"] == 9


def test_modelstep_0_is_plain_q_learning_alone(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RL_BOOK_OUTPUT_DIR", str(tmp_path))
    runs = dyna_compare.main(["--episodes", "20", "--modelstep", "0", "--no-show"])
    assert list(runs) == ["Dyna (0 planning steps)"]


def test_main_compare_saves_the_figure(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RL_BOOK_OUTPUT_DIR", str(tmp_path))
    results = dyna_compare.main(["--compare", "--seeds", "2", "--episodes", "20", "--jobs", "1",
                                 "--no-show"])
    assert set(results) == {(slippery, steps) for slippery in (False, True)
                            for steps in dyna_compare.COMPARE_PLANNING_STEPS}
    assert all(curves.shape == (2, 2) for curves in results.values())
    (run,) = (tmp_path / "MM" / "dyna_compare" / "compare").iterdir()
    assert (run / "compare.png").stat().st_size > 0
    assert "planning steps" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["--episodes", "0"], ["--compare", "--seeds", "0"],
                                  ["--compare", "--episodes", "5", "--eval-interval", "10"],
                                  ["--modelstep", "-1"], ["--modelstep", "1.5"],
                                  ["--seed", "-1"], ["--seed", str(2**32)], ["--jobs", "0"],
                                  ["--jobs", "-2"]])
def test_bad_arguments_exit_with_status_2(argv, capsys):
    with pytest.raises(SystemExit) as error:
        dyna_compare.main(argv)
    assert error.value.code == 2
    err = capsys.readouterr().err
    assert "error:" in err and "Traceback" not in err


@pytest.mark.parametrize("argv", [["--episodes", "0"], ["--modelstep", "-1"], ["--seed", "-1"],
                                  ["--compare"]])
def test_the_dyna_script_rejects_bad_arguments(argv, capsys):
    with pytest.raises(SystemExit) as error:
        dyna.main(argv)
    assert error.value.code == 2 and "Traceback" not in capsys.readouterr().err


def test_the_defaults_are_the_books_and_a_greedy_agent_follows_its_values():
    def learned(**kwargs):
        env = make_frozen_lake()
        set_seed(3, env)
        agent = DynaAgent()
        rewards = agent.learn(env, **kwargs)
        return rewards, agent.q_table(16)

    rewards, table = learned()
    explicit_rewards, explicit_table = learned(episode_count=3000, gamma=0.9, learning_rate=0.1,
                                               steps_in_model=-1, report_interval=100)
    assert len(rewards) == 3000 and rewards == explicit_rewards
    np.testing.assert_array_equal(table, explicit_table)
    # With ε = 0 the agent acts on its values: once it has found the goal, it keeps going there.
    env = make_frozen_lake()
    set_seed(3, env)
    greedy = DynaAgent(epsilon=0.0).learn(env, episode_count=150, steps_in_model=20,
                                         report_interval=0)
    assert greedy[-20:] == [1.0] * 20


def test_ctrl_c_ends_a_run_early_and_keeps_its_curves(monkeypatch):
    original = DynaAgent.learn

    def stopped_after_25(self, env, **kwargs):
        callback = kwargs["callback"]

        def counting(episode, agent, reward):
            callback(episode, agent, reward)
            if episode == 24:
                raise KeyboardInterrupt

        return original(self, env, **dict(kwargs, callback=counting))

    monkeypatch.setattr(DynaAgent, "learn", stopped_after_25)
    rewards, success, interrupted = dyna.run_one(5, 0, 100, False, 10)
    assert interrupted is True
    assert success.shape == (2,) and rewards.shape == (20,)
