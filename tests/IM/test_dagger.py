from common import set_seed

import numpy as np
import pytest

from IM import dagger
from IM.dagger import FrozenLakeObserver, Student, TeacherAgent


@pytest.fixture(scope="module")
def teacher():
    """A teacher trained briefly on FrozenLakeEasy; it must already walk to the goal."""
    env = FrozenLakeObserver()
    set_seed(0)
    env.reset(seed=0)
    agent = TeacherAgent.train(env, episode_count=200, report_interval=0)
    assert dagger.teacher_success_rate(agent, env) == pytest.approx(1.0)
    return agent


def test_observer_gives_one_hot_states_and_the_books_step():
    env = FrozenLakeObserver()
    state = env.reset(seed=0)
    np.testing.assert_array_equal(state, np.eye(16)[0])
    n_state, reward, done, info = env.step(1)  # down
    np.testing.assert_array_equal(n_state, np.eye(16)[4])
    assert (reward, done) == (0.0, False)
    assert info["terminated"] is False and info["truncated"] is False


def test_dagger_student_reaches_the_goal(teacher):
    env = FrozenLakeObserver()
    set_seed(1)
    env.reset(seed=1)
    student = Student(env)
    counts = []
    rewards = student.imitate(env, teacher, initial_step=5, train_step=10, report_interval=5,
                              callback=lambda count, _: counts.append(count))
    assert len(rewards) == 10
    # One fit after the demonstrations and one after each round, on ever more labels.
    assert len(counts) == 11 and all(b > a for a, b in zip(counts, counts[1:]))
    assert student.success_rate(env) >= 0.9
    # The student now does what the teacher does on the way to the goal.
    s = env.reset()
    for _ in range(dagger.STEP_LIMIT):
        assert student.policy(s) == teacher.act(s)
        s, _, done, _ = env.step(student.policy(s))
        if done:
            break


def test_behaviour_cloning_uses_exactly_the_requested_labels(teacher):
    env = FrozenLakeObserver()
    set_seed(2)
    env.reset(seed=2)
    labels, dagger_rates, cloning_rates = dagger.compare_with_behaviour_cloning(env, teacher, 1, 4)
    assert len(labels) == len(dagger_rates) == len(cloning_rates) == 5
    assert np.all(np.diff(labels) > 0)
    assert np.all((0 <= cloning_rates) & (cloning_rates <= 1))
    assert dagger_rates[-1] >= 0.9


def test_teacher_is_saved_and_loaded(teacher, tmp_path):
    path = tmp_path / "teacher.joblib"
    teacher.save(path)
    env = FrozenLakeObserver()
    loaded = TeacherAgent.load(env, path)
    states = env.all_states()
    np.testing.assert_allclose(loaded.model.predict(states), teacher.model.predict(states))
    assert not list(tmp_path.glob(".*tmp*"))  # the temporary file was renamed away


def test_main_without_a_teacher_says_how_to_make_one(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RL_BOOK_OUTPUT_DIR", str(tmp_path))
    with pytest.raises(SystemExit) as error:
        dagger.main(["--no-show"])
    assert error.value.code == 2
    assert "--teacher" in capsys.readouterr().err


def test_main_trains_the_teacher_then_runs_dagger(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RL_BOOK_OUTPUT_DIR", str(tmp_path))
    dagger.main(["--teacher", "--episodes", "40", "--seed", "0"])
    assert (tmp_path / "IM" / "dagger" / "teacher.joblib").exists()
    results = dagger.main(["--initial-step", "3", "--train-step", "3",
                           "--compare-train-step", "3", "--no-show"])
    assert 0.0 <= results["success"] <= 1.0
    assert len(results["labels"]) == 4
    assert (tmp_path / "IM" / "dagger" / "dagger_vs_cloning.png").stat().st_size > 0
    assert "Start imitation." in capsys.readouterr().out


def test_main_rejects_a_bad_budget(capsys):
    with pytest.raises(SystemExit) as error:
        dagger.main(["--teacher", "--episodes", "0"])
    assert error.value.code == 2
