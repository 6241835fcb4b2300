import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from common import INTERRUPTED_EXIT_STATUS, output_dir, play_first_episodes

import numpy as np
import pytest
from joblib import Parallel, delayed, parallel_config

from EV import dask_parallel, evolution
from EV.dask_parallel import DaskParallel
from EV.evolution import (
    FRAME_COUNT,
    FRAME_HEIGHT,
    FRAME_WIDTH,
    CatcherObserver,
    EvolutionalAgent,
    EvolutionalTrainer,
    derived_seed,
    es_update,
    evaluate,
    flatten,
    make_noise,
)
from EV.numpy_network import action_probabilities
from tests.learning_margins import learning_seeds

ROOT = Path(__file__).resolve().parents[2]
STATE_SHAPE = (FRAME_HEIGHT, FRAME_WIDTH, FRAME_COUNT)
# The smallest training run of the script: one pair, one game each, two epochs.
TINY = ["--epochs", "2", "--population", "2", "--episodes-per-agent", "1", "--workers", "1",
        "--eval-episodes", "2", "--no-show"]
# The learning test: a small budget of the script's own settings, with a fixed seed.
LEARNING_SETTINGS = {"population_size": evolution.POPULATION, "sigma": evolution.SIGMA,
                     "learning_rate": evolution.LEARNING_RATE,
                     "max_step": evolution.TRAINING_MAX_STEPS}
# Measured on seeds 0-4 (python benchmarks/learning_margins.py -k test_evolution_improves):
# in 30 epochs the catch rate gains 0.05 to 0.21, and falls 0.14 to 0.18 with the sign flipped.
LEARNING_EPOCHS, LEARNING_EPISODES = 30, evolution.EPISODES_PER_AGENT


def fresh_agent(seed=0):
    agent = EvolutionalAgent([0, 1, 2], seed=seed)
    agent.initialize(np.zeros(STATE_SHAPE, dtype=np.float32))
    return agent


def play_env(render_mode=None):
    return CatcherObserver(FRAME_WIDTH, FRAME_HEIGHT, FRAME_COUNT, render_mode=render_mode)


# ------------------------------------------------------------------ the update, by hand


def test_update_is_the_books_step_towards_the_better_noises():
    rng = np.random.default_rng(0)
    theta, noises = rng.standard_normal(6), rng.standard_normal((3, 6))
    rewards = np.array([1.0, 2.0, 6.0])
    new = es_update(theta, noises, rewards, 0.25, 0.3)
    # Rewards 1, 2, 6: mean 3, std sqrt(14/3); z = (-2, -1, 3) / sqrt(14/3).
    z = np.array([-2.0, -1.0, 3.0]) / np.sqrt(14 / 3)
    np.testing.assert_allclose(new, theta + 0.3 / (3 * 0.25) * z @ noises, rtol=1e-6)
    # The weights moved towards the noise of the best member (the only one above average).
    assert (new - theta) @ noises[2] > 0
    # Only how much better a member did counts, not the scale of the rewards.
    np.testing.assert_allclose(es_update(theta, noises, 10 * rewards - 7, 0.25, 0.3), new)


def test_update_leaves_the_weights_alone_when_every_member_did_the_same():
    theta = np.arange(4, dtype=np.float32)
    noises = np.random.default_rng(0).standard_normal((3, 4))
    np.testing.assert_array_equal(es_update(theta, noises, [2.0, 2.0, 2.0], 0.5, 0.1), theta)


@pytest.mark.parametrize("seed", range(5))
def test_update_climbs_a_quadratic_to_its_top(seed):
    rng = np.random.default_rng(seed)
    top = rng.uniform(-2, 2, 10)
    theta = np.zeros(10, dtype=np.float32)
    for _ in range(300):
        noises = rng.standard_normal((20, 10))
        rewards = [-np.sum((theta + 0.1 * noise - top) ** 2) for noise in noises]
        theta = es_update(theta, noises, rewards, 0.1, 0.01)
    assert np.linalg.norm(theta - top) < 0.1 * np.linalg.norm(top)  # from 1.0 at the start


def test_trainer_update_draws_each_members_noise_again_from_its_seed():
    trainer = EvolutionalTrainer(population_size=2, sigma=0.5, learning_rate=0.1)
    base = [np.zeros((2, 3), dtype=np.float32), np.ones(4, dtype=np.float32)]
    trainer.weights = [w.copy() for w in base]
    trainer.update([(-3.0, 11, 1), (5.0, 12, 1)])
    # Two rewards standardize to -1 and +1, so the step is 0.1 / (2 · 0.5) · (ε₁₂ − ε₁₁).
    expected = flatten(base) + 0.1 * (make_noise(base, 12) - make_noise(base, 11))
    np.testing.assert_allclose(flatten(trainer.weights), expected, rtol=1e-6, atol=1e-7)
    assert [np.shape(w) for w in trainer.weights] == [(2, 3), (4,)]
    np.testing.assert_array_equal(trainer.reward_log[-1], [-3.0, 5.0])


def test_a_mirrored_pair_moves_the_weights_by_the_difference_of_its_rewards():
    trainer = EvolutionalTrainer(population_size=4, sigma=0.5, learning_rate=0.1)
    base = [np.zeros((2, 3), dtype=np.float32), np.ones(4, dtype=np.float32)]
    trainer.weights = [w.copy() for w in base]
    # The pair of seed 11 earns the same twice: its +ε and −ε cancel. In the pair of seed 12,
    # θ − σε did better: θ moves towards −ε₁₂ (standardized rewards 0, 0, −√2, +√2).
    trainer.update([(1.0, 11, 1), (1.0, 11, -1), (-2.0, 12, 1), (4.0, 12, -1)])
    expected = flatten(base) - 0.1 * np.sqrt(2) * make_noise(base, 12)
    np.testing.assert_allclose(flatten(trainer.weights), expected, rtol=1e-5, atol=1e-6)


def test_keep_best_ends_with_the_weights_that_did_best_on_the_check_games(monkeypatch):
    rates = iter([0.5, 0.9, 0.7])
    checked = []

    def check(weights, num_games, seed):
        checked.append((weights, num_games, seed))
        return next(rates)

    monkeypatch.setattr(evolution, "evaluate", check)
    trainer = EvolutionalTrainer(population_size=2, n_jobs=1, seed=0, keep_best=2)
    agent = trainer.train(epoch=6, episode_per_agent=1)
    # Checked after epochs 2, 4 and 6, always on the same games: the second check was best.
    assert [(n, seed) for _, n, seed in checked] == [(evolution.CHECK_GAMES,
                                                      evolution.CHECK_SEED)] * 3
    assert agent.weights is checked[1][0] and trainer.best[0] == 0.9
    assert agent.weights is not trainer.weights  # training went on past the best


def test_training_games_stop_at_max_step_but_evaluations_play_whole_games(monkeypatch):
    lengths = []
    original = evolution.play_games

    def spy(weights, num_games, game_seed, max_step=evolution.MAX_EPISODE_STEPS):
        lengths.append(max_step)
        return original(weights, num_games, game_seed, max_step)

    monkeypatch.setattr(evolution, "play_games", spy)
    trainer = EvolutionalTrainer(population_size=2, n_jobs=1, seed=0, max_step=40)
    agent = trainer.train(epoch=1, episode_per_agent=1)
    evaluate(agent.weights, 2)
    assert lengths == [40, 40, evolution.MAX_EPISODE_STEPS]


# ------------------------------------------------------------------ noise from seeds


def noise_in_a_worker(shapes, seed):
    return make_noise([np.zeros(shape) for shape in shapes], seed)


def test_a_noise_regenerated_from_its_seed_is_exactly_the_noise_a_worker_used(monkeypatch):
    base = fresh_agent().weights
    used = []
    original = EvolutionalAgent.initialize

    def spy(self, state, weights=()):
        used.append(flatten(weights))
        original(self, state, weights)

    monkeypatch.setattr(EvolutionalAgent, "initialize", spy)
    trainer = EvolutionalTrainer(population_size=2, sigma=0.5, seed=0)
    trainer.weights = base
    with Parallel(n_jobs=1) as parallel:
        (reward, seed, sign), mirrored = trainer.play_population(parallel, 3)
    assert seed == derived_seed(0, 3, 0) and isinstance(reward, float) and sign == 1
    noise = make_noise(base, seed)
    np.testing.assert_array_equal(used[0], flatten(base) + np.float32(0.5) * noise)  # bit for bit
    # The second member of the pair plays the same noise with the opposite sign.
    assert mirrored[1:] == (seed, -1)
    np.testing.assert_array_equal(used[1], flatten(base) - np.float32(0.5) * noise)

    # Another process draws the very same numbers from the seed.
    (other,) = Parallel(n_jobs=1, backend="loky")([delayed(noise_in_a_worker)(
        [w.shape for w in base], seed)])
    np.testing.assert_array_equal(noise, other)
    assert not np.array_equal(make_noise(base, seed + 1), noise)


def test_member_seeds_differ_between_members_and_epochs():
    seeds = {derived_seed(0, epoch, member) for epoch in range(10) for member in range(20)}
    assert len(seeds) == 200
    assert derived_seed(0, 1, 2) == derived_seed(0, 1, 2) != derived_seed(1, 1, 2)
    assert derived_seed() != derived_seed()  # no numbers: a fresh seed


# ------------------------------------------------------------------ the network


def test_policy_samples_from_the_softmax_for_one_state_or_a_batch():
    agent = EvolutionalAgent([0, 1, 2], seed=1)
    agent.initialize(np.zeros((8, 8, 2)))  # any state size works; a small one is quick
    agent.weights[2] *= 30  # sharper probabilities, so that sampling errors would show
    states = np.random.default_rng(0).random((4, 8, 8, 2), dtype=np.float32)
    probabilities = action_probabilities(agent.weights, states)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)
    assert probabilities[2].min() > 0.2  # every action has a fair chance in this state
    draws = agent.policy(np.repeat(states[2:3], 20000, axis=0))
    frequencies = np.bincount(draws, minlength=3) / draws.size
    np.testing.assert_allclose(frequencies, probabilities[2], atol=0.015)
    single = agent.policy(states[0])
    assert isinstance(single, int) and single in (0, 1, 2)


def test_initialize_rejects_weights_of_the_wrong_shape_or_not_finite():
    agent = EvolutionalAgent([0, 1, 2])
    with pytest.raises(ValueError, match="do not fit"):
        agent.initialize(np.zeros(STATE_SHAPE), [np.zeros((3, 3, 5, 3))] * 4)
    weights = fresh_agent().weights
    weights[2][0, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        agent.initialize(np.zeros(STATE_SHAPE), weights)


@pytest.mark.slow  # importing TensorFlow takes seconds
def test_numpy_forward_pass_equals_the_books_keras_model():
    agent = fresh_agent(seed=2)
    agent.weights = [w + np.random.default_rng(i).normal(0, 0.3, w.shape).astype(np.float32)
                     for i, w in enumerate(agent.weights)]
    states = np.random.default_rng(3).random((3, *STATE_SHAPE), dtype=np.float32)
    model = agent.keras_model()
    expected = np.asarray(model(states, training=False))
    np.testing.assert_allclose(action_probabilities(agent.weights, states), expected,
                               rtol=1e-4, atol=1e-6)


def test_importing_the_module_imports_neither_tensorflow_nor_fn_nor_dask():
    code = ("import sys, EV.evolution; "
            "print(*(name in sys.modules for name in ('tensorflow', 'keras', 'FN', 'dask')))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, check=True)
    assert result.stdout.split() == ["False"] * 4


# ------------------------------------------------------------------ the observer


def test_the_books_observer_shows_one_small_gray_frame_of_one_game():
    env = CatcherObserver(50, 50, 1, render_mode="rgb_array")  # the book's arguments
    assert env.observation_space.shape == (50, 50, 1) and env.action_space.n == 3
    state = env.reset(seed=0)
    assert state.shape == (50, 50, 1) and state.dtype == np.float32
    assert 0 <= state.min() and state.max() <= 1 and state.max() > 0  # the paddle shows
    assert env.render().shape == (64, 64, 3)
    state, reward, done, info = env.step(2)
    assert state.shape == (50, 50, 1) and isinstance(done, bool) and "caught" in info
    white, black = np.full((64, 64, 3), 255, np.uint8), np.zeros((2, 64, 64, 3), np.uint8)
    np.testing.assert_array_equal(env.transform(white), np.ones((50, 50, 1)))
    assert env.transform(black).shape == (2, 50, 50, 1) and not env.transform(black).any()
    assert EvolutionalTrainer.make_env().reset(seed=0).shape == (50, 50, 1)


def test_a_batch_plays_each_game_as_the_single_game_observer_does():
    rng = np.random.default_rng(0)
    asked = []

    def act(states):
        asked.append(rng.integers(0, 3, len(states)))
        return asked[-1]

    batch = CatcherObserver(FRAME_WIDTH, FRAME_HEIGHT, FRAME_COUNT, num_games=4)
    returns, caught, missed = play_first_episodes(batch, act, 5, ("caught", "missed"))
    # The same actions, game by game: a game of the batch restarted after its end (even on
    # the first frame of a skip) adds nothing, and its counters are those of its end.
    games = [CatcherObserver(FRAME_WIDTH, FRAME_HEIGHT, FRAME_COUNT) for _ in range(4)]
    for i, game in enumerate(games):
        game.reset(seed=5 + i)
    totals, counters, playing = np.zeros(4), {}, list(range(4))
    for actions in asked:
        still = []
        for i, action in zip(playing, actions):
            _, reward, done, info = games[i].step(int(action))
            totals[i] += reward
            if done:
                counters[i] = (info["caught"], info["missed"])
            else:
                still.append(i)
        playing = still
    assert playing == [] and len(asked) > 10
    np.testing.assert_array_equal(returns, totals)
    assert [counters[i] for i in range(4)] == list(zip(caught.tolist(), missed.tolist()))


def test_the_books_calls_work_as_printed(tmp_path, capsys):
    trainer = EvolutionalTrainer(population_size=2, n_jobs=1, seed=0)
    agent = trainer.train(epoch=1, episode_per_agent=1, render=False)
    reward, seed, sign = EvolutionalTrainer.run_agent(1, agent.weights, 0.5)
    assert isinstance(reward, float) and isinstance(seed, int) and sign == 1
    path = trainer.plot_rewards()
    assert path == output_dir(evolution.__file__) / "reward_history.png"
    assert path.stat().st_size > 0
    agent.save(tmp_path / "ev_agent.npz")
    env = EvolutionalTrainer.make_env()
    EvolutionalAgent.load(env, tmp_path / "ev_agent.npz").play(env, episode_count=1)
    assert capsys.readouterr().out.count("Get reward") == 1


# ------------------------------------------------------------------ training in parallel


def train_tiny(n_jobs, parallel=None):
    trainer = EvolutionalTrainer(population_size=4, report_interval=1, n_jobs=n_jobs, seed=5,
                                 parallel=parallel)
    agent = trainer.train(epoch=2, episode_per_agent=2)
    return trainer, agent


def test_train_gives_the_same_result_in_one_process_with_loky_and_on_dask(capsys):
    distributed = pytest.importorskip("dask.distributed")
    sequential, agent = train_tiny(n_jobs=1)
    assert "At epoch 2, reward is" in capsys.readouterr().out
    with parallel_config(backend="loky"):
        loky, _ = train_tiny(n_jobs=2)
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                       dashboard_address=None)
    try:
        with distributed.Client(cluster) as client:
            dask, _ = train_tiny(n_jobs=-1, parallel=DaskParallel(client))
    finally:
        cluster.close()

    assert len(sequential.reward_log) == 2
    assert not all(np.array_equal(w, w0) for w, w0 in zip(agent.weights, fresh_agent().weights))
    for other in (loky, dask):
        for a, b in zip(sequential.reward_log, other.reward_log):
            np.testing.assert_array_equal(a, b)
        for a, b in zip(sequential.weights, other.weights):
            np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(agent.weights[0], sequential.weights[0])


class FlippedTrainer(EvolutionalTrainer):
    """A broken update to compare with: every reward counts with the wrong sign, so the
    weights move towards the noise of the members that did worse than average."""

    def update(self, agent_results):
        super().update([(-reward, seed, sign) for reward, seed, sign in agent_results])


@pytest.mark.slow  # about a minute of training on one core
@pytest.mark.learning
@pytest.mark.parametrize("seed", learning_seeds(0))
def test_evolution_improves_clearly_over_its_initial_policy_and_a_flipped_update_does_not(
        seed, margin):
    settings = {**LEARNING_SETTINGS, "report_interval": 1000, "n_jobs": 1, "seed": seed}
    trainer = EvolutionalTrainer(**settings)
    initial = EvolutionalTrainer(**settings).train(epoch=0).weights
    trained = trainer.train(epoch=LEARNING_EPOCHS, episode_per_agent=LEARNING_EPISODES)
    flipped = FlippedTrainer(**settings).train(epoch=LEARNING_EPOCHS,
                                               episode_per_agent=LEARNING_EPISODES)
    # All three play the same 100 evaluation games, which training never played.
    before, after, wrong = (evaluate(weights, 100)
                            for weights in (initial, trained.weights, flipped.weights))
    assert before < 0.4  # the initial network plays about as well as random moves
    margin("gain in catch rate", after - before, above=0.04)
    # Climbing the wrong way loses fruit: the same number of epochs, in the other direction.
    margin("change with the sign flipped", wrong - before, below=-0.1)


# ------------------------------------------------------------------ save, load and play


def test_save_load_and_play_round_trip(tmp_path, capsys):
    agent = fresh_agent(seed=4)
    agent.weights[2] *= 10
    path = agent.save(tmp_path / "agent.npz")
    env = play_env("rgb_array")
    loaded = EvolutionalAgent.load(env, path, seed=9)
    assert loaded.actions == agent.actions and loaded.state_shape == STATE_SHAPE
    for a, b in zip(agent.weights, loaded.weights):
        np.testing.assert_array_equal(a, b)

    agent.rng = np.random.default_rng(9)
    results = []
    for player in (agent, loaded):
        env.reset(seed=1)
        frames = []
        rewards = player.play(env, episode_count=1, render=True, frames=frames)
        results.append((rewards, frames))
    (rewards, frames), (rewards_loaded, frames_loaded) = results
    assert rewards == rewards_loaded and len(rewards) == 1
    assert len(frames[0]) == len(frames_loaded[0]) > 10
    assert frames[0][0].shape == (64, 64, 3)
    assert capsys.readouterr().out.count("Get reward") == 2


def write_bad_files(folder):
    """Files that are not a playable agent, each with what ``load`` should say about it."""
    good = fresh_agent()
    weights = dict(zip(evolution.WEIGHT_NAMES, good.weights))
    files = {}

    def add(name, reason, write):
        path = folder / name
        write(path)
        files[path] = reason

    add("empty.npz", "not a saved agent", lambda p: p.write_bytes(b""))
    add("text.npz", "not a saved agent", lambda p: p.write_bytes(b"not a zip file"))
    add("cut.npz", "not a saved agent",
        lambda p: p.write_bytes(good.save(folder / "whole.npz").read_bytes()[:200]))
    add("other.npz", "not a saved agent", lambda p: np.savez(p, something=np.zeros(3)))
    add("array.npy", "not a saved agent", lambda p: np.save(p, np.zeros(3)))
    add("pickled.npz", "not a saved agent", lambda p: np.savez(
        p, **{**weights, "conv_bias": np.array([{"x": 1}], dtype=object)}))
    add("frames.npz", "do not fit", lambda p: np.savez(  # trained on 5 stacked frames
        p, **{**weights, "conv_kernel": np.zeros((5, 5, 5, 3), dtype=np.float32)}))
    add("weights.npz", "do not fit",
        lambda p: np.savez(p, **{**weights, "dense_kernel": np.zeros((4, 3))}))
    add("nan.npz", "finite",
        lambda p: np.savez(p, **{**weights, "dense_bias": np.full(3, np.nan, np.float32)}))
    return files


def test_load_refuses_every_file_that_is_not_a_playable_agent(tmp_path):
    env = play_env()
    for path, reason in write_bad_files(tmp_path).items():
        with pytest.raises(ValueError, match=reason.replace("(", r"\(").replace(")", r"\)")):
            EvolutionalAgent.load(env, path)


# ------------------------------------------------------------------ the script


def run_folders():
    folder = output_dir(evolution.__file__)
    return sorted(path for path in folder.iterdir() if (path / "run.json").is_file())


def status_of(run_dir):
    return json.loads((run_dir / "run.json").read_text())["status"]


def test_script_trains_into_a_run_folder_and_plays_its_agent_headless(capsys):
    before = set(run_folders())
    trainer, agent = evolution.main([*TINY, "--report-interval", "1", "--seed", "2"])
    (run_dir,) = set(run_folders()) - before
    out = capsys.readouterr().out
    for name in ("ev_agent.npz", "reward_log.csv", "reward_history.png"):
        assert f"Saved {run_dir / name}" in out and (run_dir / name).stat().st_size > 0
    assert "学習したエージェントのキャッチ率:" in out and "(2 ゲーム)" in out
    record = json.loads((run_dir / "run.json").read_text())
    assert record["status"] == "finished" and record["epochs"] == 2
    assert 0 <= record["catch_rate"] <= 1
    assert len((run_dir / "reward_log.csv").read_text().splitlines()) == 1 + 2 * 2
    with np.load(run_dir / "ev_agent.npz") as saved:
        np.testing.assert_array_equal(saved["dense_kernel"], agent.weights[2])

    rewards = evolution.main(["--play", "--headless", "--play-episodes", "1", "--seed", "3"])
    assert len(rewards) == 1
    gif = run_dir / "ev_agent.gif"
    assert f"Saved {gif}" in capsys.readouterr().out and gif.stat().st_size > 0


def interrupt_at_epoch(monkeypatch, epoch):
    """Make the trainer's update raise KeyboardInterrupt (as Ctrl-C would) at ``epoch``."""
    original = EvolutionalTrainer.update

    def update(self, agent_results):
        if len(self.reward_log) + 1 == epoch:
            raise KeyboardInterrupt
        original(self, agent_results)

    monkeypatch.setattr(EvolutionalTrainer, "update", update)


def test_a_second_interrupted_run_leaves_the_first_runs_agent_intact_and_playable(
        tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RL_BOOK_OUTPUT_DIR", str(tmp_path))
    evolution.main([*TINY, "--seed", "1"])
    (first,) = run_folders()
    saved = {path.name: path.read_bytes() for path in first.iterdir()}

    time.sleep(1.01)  # run folders are named by the second they start in
    interrupt_at_epoch(monkeypatch, 2)
    with pytest.raises(SystemExit) as stopped:
        evolution.main([*TINY, "--epochs", "50", "--seed", "2"])
    assert stopped.value.code == INTERRUPTED_EXIT_STATUS
    out = capsys.readouterr().out
    assert out.count("Stopped with Ctrl-C") == 1
    first_again, second = run_folders()
    assert first_again == first and second != first
    assert {path.name: path.read_bytes() for path in first.iterdir()} == saved
    assert status_of(first) == "finished" and status_of(second) == "interrupted"
    # The interrupted run kept the one epoch it finished.
    assert len((second / "reward_log.csv").read_text().splitlines()) == 1 + 2
    assert (second / "ev_agent.npz").is_file()

    # --play takes the newest run that ended, and says that it was interrupted ...
    evolution.main(["--play", "--headless", "--play-episodes", "1"])
    out = capsys.readouterr().out
    assert "stopped with Ctrl-C" in out and str(second / "ev_agent.gif") in out
    # ... and --model plays the first run's agent, still as it was.
    rewards = evolution.main(["--play", "--headless", "--play-episodes", "1",
                              "--model", str(first / "ev_agent.npz")])
    assert len(rewards) == 1
    assert (first / "ev_agent.npz").read_bytes() == saved["ev_agent.npz"]


def test_ctrl_c_saves_prints_one_line_and_exits_130(tmp_path):
    env = {**os.environ, "RL_BOOK_OUTPUT_DIR": str(tmp_path)}
    process = subprocess.Popen(
        [sys.executable, "EV/evolution.py", "--epochs", "100000", "--population", "2",
         "--episodes-per-agent", "1", "--workers", "1", "--report-interval", "1",
         "--no-show"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in process.stdout:  # wait until training is under way
        if line.startswith("At epoch 2"):
            break
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == INTERRUPTED_EXIT_STATUS
    assert "Traceback" not in err
    assert out.count("Stopped with Ctrl-C") == 1
    (run_dir,) = (tmp_path / "EV" / "evolution").iterdir()
    assert status_of(run_dir) == "interrupted"
    assert (run_dir / "ev_agent.npz").is_file()


@pytest.mark.slow  # starts a Dask cluster of worker processes
def test_ctrl_c_on_a_local_dask_cluster_is_as_quiet(tmp_path):
    pytest.importorskip("dask.distributed")
    env = {**os.environ, "RL_BOOK_OUTPUT_DIR": str(tmp_path)}
    # A session of its own, so that the SIGINT can go to every process of the program, as
    # Ctrl-C in a terminal does: the workers too.
    process = subprocess.Popen(
        [sys.executable, "EV/dask_parallel.py", "--scheduler", "local", "--workers", "2",
         "--epochs", "100000", "--population", "4", "--episodes-per-agent", "1",
         "--report-interval", "1", "--no-show"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True)
    for line in process.stdout:
        if line.startswith("At epoch 2"):
            break
    os.killpg(process.pid, signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == INTERRUPTED_EXIT_STATUS
    assert "Traceback" not in err and "WARNING" not in err
    assert out.count("Stopped with Ctrl-C") == 1
    (run_dir,) = (tmp_path / "EV" / "evolution").iterdir()
    assert status_of(run_dir) == "interrupted"


def test_play_without_a_saved_agent_says_how_to_train(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RL_BOOK_OUTPUT_DIR", str(tmp_path))
    with pytest.raises(SystemExit) as exit_info:
        evolution.main(["--play", "--headless"])
    assert exit_info.value.code == 2
    assert "python EV/evolution.py" in capsys.readouterr().err


def test_play_with_a_bad_file_is_one_sentence_and_exit_2(tmp_path, capsys):
    files = write_bad_files(tmp_path)
    files[tmp_path / "missing.npz"] = "no model file"
    for path in files:
        with pytest.raises(SystemExit) as exit_info:
            evolution.main(["--play", "--headless", "--model", str(path)])
        assert exit_info.value.code == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and str(path) in err and "python EV/evolution.py" in err
    assert not list(tmp_path.glob("*.gif"))


def test_scheduler_without_dask_says_how_to_install_it(monkeypatch, capsys):
    # A None entry in sys.modules makes "import dask.distributed" raise ImportError.
    monkeypatch.setitem(sys.modules, "dask.distributed", None)
    with pytest.raises(SystemExit) as exit_info:
        dask_parallel.main(["--scheduler", "local", "--epochs", "1", "--no-show"])
    assert exit_info.value.code == 2
    assert 'pip install ".[distributed]"' in capsys.readouterr().err


def test_a_bad_scheduler_address_is_one_clear_error(capsys):
    pytest.importorskip("dask.distributed")
    with pytest.raises(SystemExit) as exit_info:
        dask_parallel.main(["--scheduler", "nowhere", "--epochs", "1", "--no-show"])
    assert exit_info.value.code == 2
    assert "tcp://host:8786" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [
    ["--epochs", "0"], ["--population", "1"], ["--population", "x"], ["--workers", "0"],
    ["--workers", "-2"], ["--sigma", "-1"], ["--sigma", "nan"], ["--learning-rate", "0"],
    ["--learning-rate", "inf"], ["--episodes-per-agent", "0"], ["--eval-episodes", "-1"],
    ["--workers", "-1"],
    ["--seed", "-1"], ["--seed", str(2**32)], ["--epochs", "many"], ["--play-episodes", "0"],
])
def test_script_rejects_bad_arguments_in_one_sentence(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        evolution.main([*argv, "--no-show"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "error:" in err and argv[0] in err and "Traceback" not in err


def worker_malloc_setting():
    return os.environ.get("MALLOC_TRIM_THRESHOLD_")


@pytest.mark.slow  # starts a Dask cluster of worker processes
def test_local_cluster_workers_keep_the_default_allocator():
    # Dask's default MALLOC_TRIM_THRESHOLD_=65536 made every game 30% slower in a worker.
    distributed = pytest.importorskip("dask.distributed")
    with dask_parallel.local_cluster(2, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        settings = client.run(worker_malloc_setting)
    assert len(settings) == 2
    assert set(settings.values()) == {None}


@pytest.mark.slow  # starts a Dask cluster of worker processes
def test_script_on_a_local_dask_cluster_gives_the_same_agent(capsys):
    pytest.importorskip("dask.distributed")
    argv = [*TINY, "--population", "3", "--seed", "4"]
    _, alone = evolution.main(argv)
    _, on_dask = dask_parallel.main([*argv, "--workers", "2", "--scheduler", "local"])
    assert "Dask: 2 workers" in capsys.readouterr().out
    for a, b in zip(alone.weights, on_dask.weights):
        np.testing.assert_array_equal(a, b)


def test_benchmark_runs_as_a_file_and_prints_its_figures():
    # Run as a file, benchmarks/evolution.py must not let benchmarks/envs.py hide envs.
    result = subprocess.run(
        [sys.executable, "benchmarks/evolution.py", "--epochs", "2", "--population", "2",
         "--episodes-per-agent", "1", "--eval-episodes", "2", "--speed-epochs", "1",
         "--skip-dask"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )
    out = result.stdout
    assert "joblib: 1 worker" in out and "x as fast as 1 (target >= 1.7)" in out
    assert "random policy" in out and "final catch rate" in out


@pytest.mark.slow  # starts four small Dask clusters
def test_benchmark_times_one_and_two_dask_workers():
    result = subprocess.run(
        [sys.executable, "benchmarks/evolution.py", "--population", "2",
         "--episodes-per-agent", "1", "--speed-epochs", "2", "--skip-learning"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )
    line = next(line for line in result.stdout.splitlines() if "Dask LocalCluster" in line)
    assert "1 worker" in line and "2 workers" in line and "x as fast as 1" in line

