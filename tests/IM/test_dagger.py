import json
import pickle

from common import set_seed

import numpy as np
import pytest
import skops.io
from gymnasium import spaces
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPRegressor

from envs.frozen_lake import transition_table
from IM import dagger, dagger_vs_cloning
from IM.dagger import FrozenLakeObserver, Student, TeacherAgent


def planned_teacher(env, gamma=0.99):
    """A teacher whose regressor holds the lake's true Q-values (planned, not learned).

    Value iteration on the lake's transition table gives Q*; the regressor is fitted to it
    exactly, so that tests need not wait for Q-learning. Its greedy actions are Q*'s.
    """
    transition = transition_table(env.env)
    goal = np.asarray(env.env.unwrapped.desc).ravel() == b"G"
    ends = goal | (np.asarray(env.env.unwrapped.desc).ravel() == b"H")
    reward = goal.astype(float)
    V = np.zeros(16)
    for _ in range(2000):
        Q = transition @ (reward + gamma * np.where(ends, 0.0, V))
        V = Q.max(axis=1)
    teacher = TeacherAgent(env, epsilon=dagger.DEMO_EPSILON)
    # random_state fixed: where two actions tie in Q* the fit decides, and it must decide
    # the same way every time.
    teacher.model = MLPRegressor(hidden_layer_sizes=(), solver="lbfgs", max_iter=5000,
                                 tol=1e-10, random_state=0).fit(np.eye(16), Q)
    chosen = teacher.model.predict(np.eye(16)).argmax(axis=1)
    # Every greedy choice is a best action of Q* (some states have two, e.g. between holes).
    assert np.all(Q[np.arange(16), chosen][~ends] >= Q.max(axis=1)[~ends] - 1e-6)
    return teacher


@pytest.fixture(scope="module")
def slippery():
    return FrozenLakeObserver(slippery=True)


@pytest.fixture(scope="module")
def teacher(slippery):
    return planned_teacher(slippery)


class TruncatingChain:
    """The observer's interface on a world of three states whose time limit cuts every step.

    Episodes start at state 0 and 1 in turn. From 0 every action leads to 1 (reward 0), and
    the episode is truncated there. From 1 every action ends the episode (terminated) with
    reward 1. So Q(1, ·) = 1 and Q(0, ·) = γ: state 1 still has a future after a truncation.
    A teacher that stopped bootstrapping at ``done`` would learn Q(0, ·) = 0.
    """

    action_space = spaces.Discrete(2)
    observation_space = spaces.Discrete(3)

    def __init__(self):
        self.episodes = 0
        self.state = 0

    def reset(self, seed=None):
        self.state = self.episodes % 2
        self.episodes += 1
        return np.eye(3)[self.state]

    def step(self, action):
        if self.state == 0:
            self.state = 1
            return np.eye(3)[1], 0.0, True, {"terminated": False, "truncated": True}
        self.state = 2
        return np.eye(3)[2], 1.0, True, {"terminated": True, "truncated": False}


def test_the_teacher_bootstraps_after_a_truncation():
    set_seed(0)
    teacher = TeacherAgent.train(TruncatingChain(), episode_count=600, gamma=0.9,
                                 report_interval=0)
    best = teacher.model.predict(np.eye(3)).max(axis=1)
    assert best[1] == pytest.approx(1.0, abs=0.1)
    assert best[0] == pytest.approx(0.9, abs=0.1)


def test_q_learning_trains_a_teacher_that_walks_the_easy_lake():
    env = FrozenLakeObserver()
    set_seed(0)
    env.reset(seed=0)
    # 400 episodes: every seed 0-4 walks the lake then (at 200, seeds 0 and 4 did not yet).
    agent = TeacherAgent.train(env, episode_count=400, gamma=0.9, report_interval=0)
    assert dagger.teacher_success_rate(agent, env) == pytest.approx(1.0)
    assert not agent.interrupted


def test_the_student_copies_the_teacher_where_it_was_shown(slippery, teacher, monkeypatch):
    shown = []
    original = Student.fit

    def remembering_fit(self, states, actions):
        shown[:] = [np.argmax(s) for s in states]
        original(self, states, actions)

    monkeypatch.setattr(Student, "fit", remembering_fit)
    set_seed(1)
    slippery.reset(seed=1)
    student = Student(slippery)
    counts = []
    rewards = student.imitate(slippery, teacher, initial_step=3, train_step=30,
                              report_interval=10, callback=lambda count, _: counts.append(count))
    assert len(rewards) == 30
    # One fit after the demonstrations and one after each round, on ever more labels.
    assert len(counts) == 31 and all(b > a for a, b in zip(counts, counts[1:]))
    # In every state it was shown, it now does what the teacher does there.
    for s in set(shown):
        state = np.eye(16)[s]
        assert student.policy(state) == teacher.act(state)
    assert student.success_rate(slippery) > 0.6


def test_behaviour_cloning_fits_exactly_the_requested_labels(slippery, teacher, monkeypatch):
    fitted = []
    original = Student.fit

    def counting_fit(self, states, actions):
        fitted.append(len(actions))
        original(self, states, actions)

    monkeypatch.setattr(Student, "fit", counting_fit)
    set_seed(2)
    slippery.reset(seed=2)
    rates = dagger_vs_cloning.behaviour_cloning(slippery, teacher, [5, 12, 40])
    assert fitted == [5, 12, 40]
    assert len(rates) == 3


@pytest.mark.slow
@pytest.mark.learning
def test_dagger_overtakes_behaviour_cloning_on_the_slippery_lake(slippery, teacher, margin):
    # Ten fixed seeds, with the planned teacher: the gap of one seed swings more than its size.
    results = dagger_vs_cloning.compare(slippery, teacher, seeds=range(10))
    gap = dagger_vs_cloning.gaps(results)
    teacher_rate = dagger.teacher_success_rate(teacher, slippery)
    # DAgger's 40 rounds end before the largest label counts (nan there): a state is labelled
    # once per episode. Measured (python benchmarks/learning_margins.py -k dagger_overtakes):
    # a lead of 0.30 with few labels, 0.00 at the most labels.
    most = np.flatnonzero(~np.isnan(gap))[-1]
    margin("largest lead of DAgger", np.nanmax(gap), above=0.15)
    margin("gap at the most labels", gap[most], above=-0.05)
    assert np.nanmean(results["dagger"][:, most]) == pytest.approx(teacher_rate, abs=0.03)


def test_the_teacher_is_saved_without_pickle_and_loaded(slippery, teacher, tmp_path):
    path = tmp_path / "teacher.skops"
    teacher.save(path)
    assert not list(tmp_path.glob(".*tmp*"))  # the temporary file was renamed away
    with pytest.raises(pickle.UnpicklingError):
        pickle.loads(path.read_bytes())  # a zip of arrays and settings, not a pickle
    loaded = TeacherAgent.load(slippery, path)
    states = slippery.all_states()
    np.testing.assert_allclose(loaded.model.predict(states), teacher.model.predict(states))


@pytest.mark.parametrize("kind", ["pickle", "damaged", "classifier", "other lake", "foreign"])
def test_a_file_that_is_not_a_teacher_is_refused(slippery, teacher, tmp_path, kind):
    path = tmp_path / "teacher.skops"
    if kind == "pickle":
        path.write_bytes(pickle.dumps(teacher.model))
    elif kind == "damaged":
        teacher.save(path)
        path.write_bytes(path.read_bytes()[:200])
    elif kind == "classifier":
        skops.io.dump(LogisticRegression().fit(np.eye(16), np.arange(16) % 4), path)
    elif kind == "other lake":
        other = MLPRegressor(hidden_layer_sizes=(), solver="lbfgs").fit(np.eye(64),
                                                                        np.zeros((64, 4)))
        skops.io.dump(other, path)
    else:  # a type skops does not trust: refused before anything in it is built
        skops.io.dump({"model": np.random.default_rng(0)}, path)
    with pytest.raises(ValueError):
        TeacherAgent.load(slippery, path)


def run_main(argv, capsys, script=dagger):
    with pytest.raises(SystemExit) as error:
        script.main(argv)
    err = capsys.readouterr().err
    assert error.value.code == 2 and "Traceback" not in err
    return err


def test_main_without_a_teacher_says_how_to_make_one(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RL_BOOK_OUTPUT_DIR", str(tmp_path))
    assert "--teacher" in run_main([], capsys)
    assert "--teacher" in run_main(["--no-show"], capsys, dagger_vs_cloning)
    assert "no model file" in run_main(["--teacher-model", str(tmp_path / "none.skops")],
                                       capsys) or "there is no" in capsys.readouterr().err


def test_main_refuses_a_damaged_teacher_in_one_sentence(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RL_BOOK_OUTPUT_DIR", str(tmp_path))
    path = tmp_path / "teacher.skops"
    path.write_text("not a teacher")
    err = run_main(["--teacher-model", str(path)], capsys)
    assert str(path) in err and "--teacher" in err and len(err.strip().splitlines()) == 1


def test_main_trains_the_teacher_then_a_student_imitates_it(tmp_path, monkeypatch, capsys,
                                                             teacher):
    monkeypatch.setenv("RL_BOOK_OUTPUT_DIR", str(tmp_path))
    dagger.main(["--teacher", "--episodes", "30", "--seed", "0"])
    (teacher_run,) = (tmp_path / "IM" / "dagger" / "teacher").iterdir()
    assert (teacher_run / dagger.TEACHER_FILE).exists()
    assert json.loads((teacher_run / "run.json").read_text())["status"] == "finished"
    # Imitate a good teacher (a 30-episode one knows nothing yet).
    good = tmp_path / "good.skops"
    teacher.save(good)
    student = dagger.main(["--teacher-model", str(good), "--train-step", "12"])
    out = capsys.readouterr().out
    assert "At episode 10, reward is" in out and "Student after 12 DAgger rounds" in out
    assert student.success_rate(FrozenLakeObserver(slippery=True)) > 0.3


def test_the_comparison_saves_its_figure_and_table(tmp_path, monkeypatch, capsys, teacher):
    monkeypatch.setenv("RL_BOOK_OUTPUT_DIR", str(tmp_path))
    good = tmp_path / "good.skops"
    teacher.save(good)
    results = dagger_vs_cloning.main(["--teacher-model", str(good), "--seeds", "2",
                                      "--train-step", "5", "--no-show"])
    out = capsys.readouterr().out
    assert "Largest gap: DAgger" in out and "labels: DAgger" in out
    runs = tmp_path / "IM" / "dagger_vs_cloning"
    (student_run,) = runs.iterdir()
    assert (student_run / "dagger_vs_cloning.png").stat().st_size > 0
    rows = (student_run / "comparison.csv").read_text().splitlines()
    assert rows[0] == "method,labels,seed,success"
    methods = {row.split(",")[0] for row in rows[1:]}
    assert methods == {"dagger", "bc"}
    # Behaviour cloning is measured at every label count for both seeds.
    labels = dagger_vs_cloning.LABEL_COUNTS
    assert sum(row.startswith("bc,") for row in rows[1:]) == 2 * len(labels)
    bc_row = results["bc"][1]
    assert f"bc,{labels[0]},1,{bc_row[0]:.6f}" in rows
    # A second comparison gets a folder of its own; the first stays as it was.
    before = (student_run / "comparison.csv").read_bytes()
    dagger_vs_cloning.main(["--teacher-model", str(good), "--seeds", "1", "--train-step", "2",
                            "--no-show"])
    assert len(list(runs.iterdir())) == 2
    assert (student_run / "comparison.csv").read_bytes() == before


@pytest.mark.parametrize("argv", [["--teacher", "--episodes", "0"], ["--seed", "-1"],
                                  ["--demo-epsilon", "1.5"], ["--train-step", "-1"],
                                  ["--initial-step", "0"]])
def test_main_rejects_bad_options(argv, capsys):
    run_main(argv, capsys)


@pytest.mark.parametrize("argv", [["--seeds", "0"], ["--seed", "-1"],
                                  ["--seed", str(2**32 - 1), "--seeds", "2"]])
def test_the_comparison_rejects_bad_options(argv, capsys):
    run_main(argv, capsys, dagger_vs_cloning)


def test_the_observer_speaks_the_books_gym_api():
    env = FrozenLakeObserver()
    assert env.action_space.n == 4 and env.observation_space.n == 16
    state = env.reset(seed=0)
    np.testing.assert_array_equal(state, np.eye(16)[0])
    assert env.render() is None  # no render mode: nothing to draw, and no warning
    # On FrozenLakeEasy, right from the start is a plain step: reward 0, not done.
    state, reward, done, info = env.step(2)
    np.testing.assert_array_equal(state, np.eye(16)[1])
    assert (reward, done, info["terminated"], info["truncated"]) == (0.0, False, False, False)
    env.close()
