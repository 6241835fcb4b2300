import subprocess
import sys
from pathlib import Path

from common import output_dir

import gymnasium as gym
import numpy as np
import pytest
from joblib import Parallel, delayed, parallel_config

import envs  # noqa: F401  (registers Catcher-v0)
from EV import evolution
from EV.evolution import (
    EvolutionalAgent,
    EvolutionalTrainer,
    action_probabilities,
    make_noise,
    member_seed,
)
from FN.catcher_observer import CatcherObserver

ROOT = Path(__file__).resolve().parents[2]
STATE_SHAPE = (50, 50, 5)


def fresh_agent(seed=0):
    agent = EvolutionalAgent([0, 1, 2], seed=seed)
    agent.initialize(np.zeros(STATE_SHAPE, dtype=np.float32))
    return agent


def play_env(render_mode=None):
    return CatcherObserver(gym.make("Catcher-v0", render_mode=render_mode), 50, 50, 5)


# ------------------------------------------------------------------ the update, by hand


def test_update_with_two_members_steps_from_the_worse_noise_to_the_better():
    trainer = EvolutionalTrainer(population_size=2, sigma=0.5, learning_rate=0.1)
    base = [np.zeros((2, 3), dtype=np.float32), np.ones(4, dtype=np.float32)]
    trainer.weights = [w.copy() for w in base]
    trainer.update([(-3.0, 11), (5.0, 12)])
    # Two rewards standardize to -1 and +1, so the step is 0.1 / (2 · 0.5) · (ε₁₂ − ε₁₁).
    worse, better = make_noise(base, 11), make_noise(base, 12)
    for w, w0, e_worse, e_better in zip(trainer.weights, base, worse, better):
        np.testing.assert_allclose(w, w0 + 0.1 * (e_better - e_worse), rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(trainer.reward_log[-1], [-3.0, 5.0])


def test_update_weights_each_noise_by_its_standardized_reward():
    trainer = EvolutionalTrainer(population_size=3, sigma=0.25, learning_rate=0.3)
    base = [np.full((3, 2), 0.5, dtype=np.float32)]
    trainer.weights = [base[0].copy()]
    trainer.update([(1.0, 7), (2.0, 8), (6.0, 9)])
    # Rewards 1, 2, 6: mean 3, std sqrt(14/3); z = (-2, -1, 3) / sqrt(14/3).
    z = np.array([-2.0, -1.0, 3.0]) / np.sqrt(14 / 3)
    noises = [make_noise(base, seed)[0] for seed in (7, 8, 9)]
    expected = base[0] + 0.3 / (3 * 0.25) * sum(zi * e for zi, e in zip(z, noises))
    np.testing.assert_allclose(trainer.weights[0], expected, rtol=1e-6)
    # The weights moved towards the noise of the best member (the only one above average).
    step = (trainer.weights[0] - base[0]).ravel()
    assert step @ noises[2].ravel() > 0


def test_update_leaves_the_weights_alone_when_every_member_did_the_same():
    trainer = EvolutionalTrainer(population_size=3)
    trainer.weights = [np.arange(4, dtype=np.float32)]
    trainer.update([(2.0, 1), (2.0, 2), (2.0, 3)])
    np.testing.assert_array_equal(trainer.weights[0], np.arange(4))
    assert len(trainer.reward_log) == 1


# ------------------------------------------------------------------ noise from seeds


def noise_in_a_worker(shapes, seed):
    return make_noise([np.zeros(shape) for shape in shapes], seed)


def test_a_noise_regenerated_from_its_seed_is_exactly_the_noise_a_worker_used(monkeypatch):
    base = fresh_agent().weights
    seed = member_seed(0, 3, 5)
    used = []
    original = EvolutionalAgent.initialize

    def spy(self, state, weights=()):
        used.append([np.array(w) for w in weights])
        original(self, state, weights)

    monkeypatch.setattr(EvolutionalAgent, "initialize", spy)
    reward, returned_seed = EvolutionalTrainer.run_agent(1, base, 0.5, seed, game_seed=1,
                                                         max_step=20)
    assert returned_seed == seed and isinstance(reward, float)
    regenerated = make_noise(base, seed)
    for w, w0, noise in zip(used[0], base, regenerated):
        np.testing.assert_array_equal(w, w0 + np.float32(0.5) * noise)  # bit for bit

    # Another process draws the very same numbers from the seed.
    shapes = [w.shape for w in base]
    (other,) = Parallel(n_jobs=1, backend="loky")([delayed(noise_in_a_worker)(shapes, seed)])
    for a, b in zip(regenerated, other):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(make_noise(base, seed + 1)[0], regenerated[0])


def test_member_seeds_differ_between_members_and_epochs():
    seeds = {member_seed(0, epoch, member) for epoch in range(10) for member in range(20)}
    assert len(seeds) == 200
    assert member_seed(0, 1, 2) == member_seed(0, 1, 2) != member_seed(1, 1, 2)


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


def test_initialize_rejects_weights_of_the_wrong_shape():
    agent = EvolutionalAgent([0, 1, 2])
    with pytest.raises(ValueError, match="do not fit"):
        agent.initialize(np.zeros(STATE_SHAPE), [np.zeros((3, 3, 5, 3))] * 4)


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


def test_importing_the_module_does_not_import_tensorflow():
    code = "import sys, EV.evolution; print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, check=True)
    assert result.stdout.split() == ["False", "False"]


# ------------------------------------------------------------------ training in parallel


def train_tiny(n_jobs):
    trainer = EvolutionalTrainer(population_size=4, report_interval=1, n_jobs=n_jobs, seed=5)
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
        with distributed.Client(cluster), parallel_config(backend="dask"):
            dask, _ = train_tiny(n_jobs=-1)
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


def test_load_rejects_a_file_that_is_not_an_agent(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, something=np.zeros(3))
    with pytest.raises(ValueError, match="not a saved EvolutionalAgent"):
        EvolutionalAgent.load(play_env(), path)


# ------------------------------------------------------------------ the script


def test_script_trains_saves_and_plays_headless(capsys):
    trainer, agent = evolution.main(["--epochs", "2", "--population", "3", "--workers", "1",
                                     "--report-interval", "1", "--seed", "2", "--no-show"])
    folder = output_dir(evolution.__file__)
    out = capsys.readouterr().out
    for name in ("ev_agent.npz", "reward_log.csv", "reward_history.png"):
        assert f"Saved {folder / name}" in out and (folder / name).stat().st_size > 0
    assert len(trainer.reward_log) == 2
    assert len((folder / "reward_log.csv").read_text().splitlines()) == 1 + 2 * 3
    with np.load(folder / "ev_agent.npz") as saved:
        np.testing.assert_array_equal(saved["dense_kernel"], agent.weights[2])

    rewards = evolution.main(["--play", "--headless", "--play-episodes", "1", "--seed", "3"])
    assert len(rewards) == 1
    gif = folder / "ev_agent.gif"
    assert f"Saved {gif}" in capsys.readouterr().out and gif.stat().st_size > 0


def test_play_without_a_saved_agent_says_how_to_train(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RL_BOOK_OUTPUT_DIR", str(tmp_path))
    with pytest.raises(SystemExit) as exit_info:
        evolution.main(["--play", "--headless"])
    assert exit_info.value.code == 2
    assert "python EV/evolution.py" in capsys.readouterr().err


def test_play_with_a_broken_file_is_one_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RL_BOOK_OUTPUT_DIR", str(tmp_path))
    (output_dir(evolution.__file__) / "ev_agent.npz").write_bytes(b"not a zip file")
    with pytest.raises(SystemExit) as exit_info:
        evolution.main(["--play", "--headless"])
    assert exit_info.value.code == 2
    assert "could not load" in capsys.readouterr().err


def test_scheduler_without_dask_says_how_to_install_it(monkeypatch, capsys):
    # A None entry in sys.modules makes "import dask.distributed" raise ImportError.
    monkeypatch.setitem(sys.modules, "dask.distributed", None)
    with pytest.raises(SystemExit) as exit_info:
        evolution.main(["--scheduler", "local", "--epochs", "1", "--no-show"])
    assert exit_info.value.code == 2
    assert 'pip install ".[distributed]"' in capsys.readouterr().err


def test_a_bad_scheduler_address_is_one_clear_error(capsys):
    pytest.importorskip("dask.distributed")
    with pytest.raises(SystemExit) as exit_info:
        evolution.main(["--scheduler", "nowhere", "--epochs", "1", "--no-show"])
    assert exit_info.value.code == 2
    assert "tcp://host:8786" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--epochs", "0"], ["--population", "1"], ["--workers", "0"],
                                  ["--sigma", "-1"], ["--episodes-per-agent", "0"],
                                  ["--seed", "-2"]])
def test_script_rejects_bad_arguments(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        evolution.main([*argv, "--no-show"])
    assert exit_info.value.code == 2
    assert "error:" in capsys.readouterr().err


@pytest.mark.slow  # starts a Dask cluster of worker processes
def test_script_on_a_local_dask_cluster_gives_the_same_agent(capsys):
    pytest.importorskip("dask.distributed")
    argv = ["--epochs", "2", "--population", "3", "--episodes-per-agent", "2", "--seed", "4",
            "--no-show"]
    _, alone = evolution.main([*argv, "--workers", "1"])
    _, on_dask = evolution.main([*argv, "--workers", "2", "--scheduler", "local"])
    assert "Dask: 2 workers" in capsys.readouterr().out
    for a, b in zip(alone.weights, on_dask.weights):
        np.testing.assert_array_equal(a, b)


def test_benchmark_runs_as_a_file_and_prints_both_figures():
    # Run as a file, benchmarks/evolution.py must not let benchmarks/envs.py hide envs.
    result = subprocess.run(
        [sys.executable, "benchmarks/evolution.py", "--epochs", "1", "--population", "2",
         "--episodes-per-agent", "1", "--eval-episodes", "2", "--speed-epochs", "1"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )
    out = result.stdout
    assert "2 workers are" in out and "x as fast as 1 (target >= 1.7)" in out
    assert "improvement over the initial policy:" in out
