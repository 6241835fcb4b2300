from common import output_dir

import numpy as np
import pytest

from EL import actor_critic, compare_q_s, monte_carlo, q_learning, sarsa

TRAINING_SCRIPTS = [monte_carlo, q_learning, sarsa, actor_critic]


@pytest.mark.parametrize("script", TRAINING_SCRIPTS, ids=lambda m: m.__name__)
def test_training_script_runs_and_saves_its_results(script, capsys):
    result = script.main(["--episodes", "120", "--seed", "3", "--no-show"])
    out = capsys.readouterr().out
    assert "At Episode 100 average reward is" in out
    assert "The greedy policy" in out
    folder = output_dir(script.__file__)
    for name in ("q_value.png", "reward_history.png", "q_table.npz", "reward_log.csv"):
        assert f"Saved {folder / name}" in out
        assert (folder / name).stat().st_size > 0
    agent = result[0] if isinstance(result, tuple) else result
    assert len(agent.reward_log) == 120
    with np.load(folder / "q_table.npz") as data:
        np.testing.assert_array_equal(data["Q"], agent.Q)
    assert len((folder / "reward_log.csv").read_text().splitlines()) == 121


def test_training_script_on_the_slippery_lake(capsys):
    agent = q_learning.main(["--episodes", "30", "--slippery", "--no-show"])
    assert agent.Q.shape == (16, 4) and len(agent.reward_log) == 30


@pytest.mark.parametrize("argv", [["--episodes", "0"], ["--episodes", "many"], ["--seed", "-1"]])
def test_training_script_rejects_bad_arguments(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        sarsa.main([*argv, "--no-show"])
    assert exit_info.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_hole_penalty_changes_only_the_hole_reward():
    env = compare_q_s.make_env()
    env.reset(seed=0)
    assert env.step(1)[:3] == (4, 0.0, False)  # DOWN onto ice
    assert env.step(2)[:3] == (5, -0.5, True)  # RIGHT into the hole
    env.reset()
    for action in (1, 1, 2, 2, 1):
        _ = env.step(action)
    assert env.step(2)[:3] == (15, 1.0, True)  # the goal still pays 1


def test_compare_q_s_trains_both_and_draws_one_figure(capsys):
    results = compare_q_s.main(["--episodes", "60", "--seed", "2", "--no-show"])
    assert list(results) == ["Q-learning", "SARSA"]
    for Q, rewards, _ in results.values():
        assert Q.shape == (16, 4) and rewards.shape == (60,)
        assert set(np.unique(rewards)) <= {-0.5, 0.0, 1.0}
    out = capsys.readouterr().out
    path = output_dir(compare_q_s.__file__) / "compare_q_s.png"
    assert f"Saved {path}" in out and path.stat().st_size > 0


def test_compare_q_s_training_is_reproducible_and_the_agents_differ():
    local = compare_q_s.train("SARSA", episode_count=40, seed=5)
    again = compare_q_s.train("SARSA", episode_count=40, seed=5)
    np.testing.assert_array_equal(local[0], again[0])
    q_local = compare_q_s.train("Q-learning", episode_count=40, seed=5)
    assert not np.array_equal(local[0], q_local[0])
