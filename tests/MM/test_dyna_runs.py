"""MM/dyna.py and MM/dyna_compare.py: one learning run, the comparison of many, the CSV.

Found by mutation testing: what the main tests of Dyna leave open about the experiment
harness that ``--compare`` and the single run are built on.
"""

import numpy as np

from MM import dyna, dyna_compare


def test_a_run_is_reproducible_and_silent_by_default(capsys):
    # The slippery lake draws random numbers of its own: the seed must reach it too.
    first = dyna.run_one(5, 3, 30, True, 10)
    second = dyna.run_one(5, 3, 30, True, 10)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    rewards, success, interrupted = first
    assert rewards.shape == (30,) and success.shape == (3,) and interrupted is False
    assert capsys.readouterr().out == ""
    # Silent past the 100 episodes after which learn() would print its line by default.
    dyna.run_one(0, 3, 110, False, 10)
    assert capsys.readouterr().out == ""


def test_a_run_plays_the_lake_it_is_asked_for():
    # The same seed on the slippery and on the easy lake gives other episodes.
    slippery, _, _ = dyna.run_one(0, 1, 40, True, 10)
    easy, _, _ = dyna.run_one(0, 1, 40, False, 10)
    assert not np.array_equal(slippery, easy)


def test_compare_runs_every_lake_step_count_and_seed(capsys):
    results = dyna_compare.compare([2, 5], 20, eval_interval=5, slippery_values=(True,), n_jobs=1)
    assert set(results) == {(True, steps) for steps in dyna_compare.COMPARE_PLANNING_STEPS}
    for steps in dyna_compare.COMPARE_PLANNING_STEPS:
        assert results[(True, steps)].shape == (2, 4)
        for row, seed in zip(results[(True, steps)], [2, 5]):
            np.testing.assert_array_equal(row, dyna.run_one(steps, seed, 20, True, 5)[1])
    # The progress bar names the runs and counts all of them.
    progress = capsys.readouterr().err
    assert "Dyna runs" in progress and "6/6" in progress


def test_compare_evaluates_every_ten_episodes_by_default():
    results = dyna_compare.compare([0], 20, slippery_values=(False,), n_jobs=1)
    assert results[(False, 0)].shape == (1, 2)


def test_the_csv_holds_every_episode_of_runs_of_any_length(tmp_path, capsys):
    runs = {"a": (np.array([1.0, 0.0, 1.0]), np.array([0.5, 0.25, 1.0])),
            "b": (np.array([0.0]), np.array([0.125]))}
    path = dyna_compare.save_run_csv(runs, tmp_path / "curves.csv")
    assert path.read_text(encoding="utf-8").splitlines() == [
        "episode,a_reward,a_success,b_reward,b_success",
        "1,1,0.500000,0,0.125000",
        "2,0,0.250000,,",
        "3,1,1.000000,,",
    ]
    assert capsys.readouterr().out == f"Saved {path}\n"


def test_a_run_evaluates_after_every_eval_interval_episodes():
    # Evaluating is exact (no random numbers), so the curve of every episode, taken at each
    # fifth, is the curve evaluated every five episodes: after episodes 5, 10, ..., 40. With
    # seed 0 the greedy policy finds the goal between episodes 27 and 30, so any other
    # timing gives another curve.
    _, every, _ = dyna.run_one(20, 0, 40, False, 1)
    _, fifths, _ = dyna.run_one(20, 0, 40, False, 5)
    assert every.shape == (40,)
    np.testing.assert_array_equal(fifths, every[4::5])
    assert all(not np.array_equal(fifths, every[offset::5]) for offset in (1, 2, 3))
