from common import set_seed

import numpy as np
import pytest

from envs.frozen_lake import make_frozen_lake
from MM import dyna
from MM.dyna import DynaAgent, Model


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


def test_success_probability_is_exact_on_the_easy_lake():
    env = make_frozen_lake()
    # The lake is 4x4 with holes at 5, 7, 11, 12: down, down, right, down, right, right works.
    path_actions = {0: 1, 4: 1, 8: 2, 9: 1, 13: 2, 14: 2}
    q_table = np.zeros((16, 4))
    for state, action in path_actions.items():
        q_table[state, action] = 1.0
    assert dyna.success_probability(env, q_table) == pytest.approx(1.0)
    always_left = np.tile([1.0, 0, 0, 0], (16, 1))
    assert dyna.success_probability(env, always_left) == 0.0


def test_planning_reaches_the_success_threshold_in_fewer_episodes():
    seeds = range(8)
    results = dyna.compare(seeds, episode_count=300, eval_interval=10, slippery_values=(False,),
                           n_jobs=1)
    # Per seed, the first episode at which the greedy policy succeeds 90% of the time; a seed
    # that never gets there counts as the whole budget (which only flatters no planning).
    reached = {steps: np.nan_to_num(dyna.episodes_to_reach(results[(False, steps)], 10),
                                    nan=300).mean()
               for steps in dyna.COMPARE_PLANNING_STEPS}
    assert reached[50] < reached[0]
    assert reached[5] < reached[0]
    # Every run ends with a greedy policy that reaches the goal.
    assert np.all(results[(False, 50)][:, -1] == pytest.approx(1.0))


def test_dyna_agent_learns_the_easy_lake_with_a_model():
    env = make_frozen_lake()
    set_seed(3, env)
    agent = DynaAgent()
    rewards = agent.learn(env, episode_count=150, steps_in_model=20, report_interval=50)
    assert len(rewards) == 150
    assert dyna.success_probability(env, agent.q_table(16)) == pytest.approx(1.0)


def test_main_learns_and_prints_the_periodic_line(capsys):
    rewards = dyna.main(["--episodes", "120", "--modelstep", "10", "--seed", "2"])
    assert len(rewards) == 120
    out = capsys.readouterr().out
    assert "At episode 100, reward is" in out
    assert "Success rate of the greedy policy" in out


def test_main_compare_saves_the_figure(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RL_BOOK_OUTPUT_DIR", str(tmp_path))
    results = dyna.main(["--compare", "--seeds", "2", "--episodes", "20", "--jobs", "1",
                         "--no-show"])
    assert set(results) == {(slippery, steps) for slippery in (False, True)
                            for steps in dyna.COMPARE_PLANNING_STEPS}
    assert all(curves.shape == (2, 2) for curves in results.values())
    assert (tmp_path / "MM" / "dyna" / "compare.png").stat().st_size > 0
    assert "planning steps" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["--episodes", "0"], ["--compare", "--seeds", "0"],
                                  ["--compare", "--episodes", "5", "--eval-interval", "10"]])
def test_bad_arguments_exit_with_status_2(argv, capsys):
    with pytest.raises(SystemExit) as error:
        dyna.main(argv)
    assert error.value.code == 2
    assert "error:" in capsys.readouterr().err
