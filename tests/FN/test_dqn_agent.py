"""DQN: the loss against a hand computation, saving and loading, the script, and learning."""

import json

from common import set_seed

import keras
import numpy as np
import pytest
import tensorflow as tf

from FN import dqn_agent
from FN.dqn_agent import DeepQNetworkAgent, DeepQNetworkAgentTest, DeepQNetworkTrainer
from FN.fn_framework import Experience, evaluate, make_cartpole, stack_experiences
from FN.replay_buffer import ReplayBuffer
from tests.learning_margins import learning_seeds


def tiny_batch():
    rng = np.random.default_rng(0)
    return [Experience(rng.normal(size=4).astype(np.float32), int(a), float(r),
                       rng.normal(size=4).astype(np.float32), d)
            for a, r, d in [(0, 1.0, False), (1, 1.0, True), (1, 0.5, False), (0, 3.0, False)]]


def initialized_agent(agent_class=DeepQNetworkAgentTest, seed=0):
    set_seed(seed)
    agent = agent_class(0.0, [0, 1])
    agent.initialize(tiny_batch(), keras.optimizers.Adam(1e-3))
    return agent


def loss_of(agent, batch, gamma):
    """The Huber TD loss of the current weights on one batch, without training."""
    b = stack_experiences(batch)
    future = tf.reduce_max(agent._teacher_model(b.n_s), axis=1)
    taken = tf.gather(agent.model(b.s), b.a.astype(np.int32), axis=1, batch_dims=1)
    return float(keras.losses.huber(b.r + gamma * (1.0 - b.d) * future, taken))


def teacher_q(agent, states):
    return agent._teacher_model(np.asarray(states, dtype=np.float32)).numpy()


def numpy_q(model, states):
    x = np.asarray(states, dtype=np.float64)
    dense = model.layers
    for layer in dense[:-1]:
        x = np.maximum(x @ layer.kernel.numpy() + layer.bias.numpy(), 0.0)
    return x @ dense[-1].kernel.numpy() + dense[-1].bias.numpy()


def test_loss_equals_a_hand_computed_huber_td_error():
    agent = initialized_agent()
    # Make the teacher differ from the network, to check that the target uses the teacher.
    for variable in agent._teacher_model.weights:
        variable.assign(variable * 0.5)
    batch = tiny_batch()
    gamma = 0.9
    q = numpy_q(agent.model, [e.s for e in batch])
    future = numpy_q(agent._teacher_model, [e.n_s for e in batch]).max(axis=1)
    expected = []
    for i, e in enumerate(batch):
        target = e.r + (0.0 if e.d else gamma * future[i])
        error = abs(target - q[i, e.a])
        expected.append(0.5 * error ** 2 if error <= 1.0 else error - 0.5)
    assert loss_of(agent, batch, gamma) == pytest.approx(np.mean(expected), rel=1e-5)
    # The update minimizes that same loss, and the teacher does not move.
    teacher_before = teacher_q(agent, [e.n_s for e in batch])
    losses = [agent.update(batch, gamma) for _ in range(30)]
    assert losses[0] == pytest.approx(np.mean(expected), rel=1e-5)
    assert loss_of(agent, batch, gamma) < losses[0]
    assert np.array_equal(teacher_q(agent, [e.n_s for e in batch]), teacher_before)
    # The NumPy copy used for acting follows the trained weights.
    np.testing.assert_allclose(agent.estimate(batch[0].s), agent.model(batch[0].s[None])[0],
                               rtol=1e-5, atol=1e-6)
    agent.update_teacher()
    np.testing.assert_allclose(teacher_q(agent, [batch[0].s]),
                               agent.model(batch[0].s[None]).numpy(), rtol=1e-6)


def test_several_batches_run_in_one_call():
    agent = initialized_agent()
    stacked = Experience(*(np.stack([field] * 3) for field in stack_experiences(tiny_batch())))
    before = loss_of(agent, tiny_batch(), 0.9)
    loss = agent.update(stacked, 0.9)
    assert loss == pytest.approx(before, rel=0.05)  # the mean over 3 steps starts at `before`
    assert loss_of(agent, tiny_batch(), 0.9) < before


def test_save_and_load_round_trip_predictions_exactly(tmp_path):
    agent = initialized_agent()
    agent.update(tiny_batch(), 0.9)
    path = agent.save(tmp_path / "dqn.keras")
    loaded = DeepQNetworkAgentTest.load(make_cartpole(), path)
    states = np.random.default_rng(1).normal(size=(16, 4)).astype(np.float32)
    assert np.array_equal(loaded.model(states).numpy(), agent.model(states).numpy())
    assert np.array_equal(loaded.greedy_actions(states), agent.greedy_actions(states))
    assert loaded.initialized and loaded.epsilon == pytest.approx(0.0001)
    with pytest.raises(ValueError, match=".keras"):
        agent.save(tmp_path / "dqn.h5")


def test_each_agent_builds_its_own_network_and_chooses_its_compilation():
    agent = DeepQNetworkAgent(0.1, [0, 1, 2])
    agent.make_model((80, 80, 4))
    assert any(isinstance(layer, keras.layers.Conv2D) for layer in agent.model.layers)
    assert not agent.jit_compile  # XLA is slower for the gradients of convolutions
    test_agent = DeepQNetworkAgentTest(0.1, [0, 1, 2])
    test_agent.make_model((4,))
    assert test_agent.jit_compile and test_agent.model.output_shape == (None, 3)
    with pytest.raises(ValueError):
        agent.make_model((80, 80))


def test_the_replay_buffer_is_a_ring_of_arrays(tmp_path):
    trainer = DeepQNetworkTrainer(buffer_size=100, log_dir=tmp_path)
    assert type(trainer.make_buffer(make_cartpole())) is ReplayBuffer


def test_book_defaults_decay_epsilon_per_episode_and_refresh_the_teacher(tmp_path,
                                                                          read_scalars,
                                                                          summaries):
    trainer = DeepQNetworkTrainer(log_dir=tmp_path)
    assert (trainer.buffer_size, trainer.batch_size, trainer.gamma) == (50000, 32, 0.99)
    assert (trainer.initial_epsilon, trainer.final_epsilon) == (0.5, 1e-3)
    assert (trainer.learning_rate, trainer.teacher_update_freq) == (1e-3, 3)
    env = make_cartpole()
    set_seed(0, env.env)
    small = DeepQNetworkTrainer(buffer_size=64, batch_size=8, log_dir=tmp_path)
    agent = small.train(env, episode_count=12, initial_count=-1, test_mode=True)
    assert agent.initialized
    # ε starts at 0.5 when training begins and falls a fixed amount per episode.
    assert 1e-3 <= agent.epsilon < 0.5
    scalars = read_scalars(tmp_path / "deep_q_network")
    assert "losses/td_loss" in scalars and "charts/episodic_return" in scalars
    assert len(scalars["charts/episodic_return"]) == 12
    assert "q_network" in summaries(tmp_path / "deep_q_network", "text")["model"][0].item().decode()


def test_main_trains_saves_and_plays(capsys, tmp_path, monkeypatch, run_folders):
    monkeypatch.setenv("RL_BOOK_OUTPUT_DIR", str(tmp_path))
    trainer = dqn_agent.main(["--test", "--steps", "1300", "--seed", "1", "--no-show"])
    assert trainer.training and trainer.total_steps == 1300
    (run,) = run_folders(tmp_path, "dqn_agent", "cartpole")
    assert json.loads((run / "run.json").read_text())["status"] == "finished"
    for name in ("dqn_agent_test.keras", "rewards_history.png", "rewards_history.csv"):
        assert (run / name).is_file()
    assert list((run / "deep_q_network").glob("events.out.tfevents.*"))
    out = capsys.readouterr().out
    assert str(run / "dqn_agent_test.keras") in out
    rewards = dqn_agent.main(["--test", "--play", "--seed", "1"])
    # --play plays the saved network, seeded: the same episodes played here by that file.
    env = make_cartpole()
    set_seed(1, env.env)
    saved = DeepQNetworkAgentTest.load(env, run / "dqn_agent_test.keras")
    assert rewards == saved.play(env, episode_count=5, render=False)


def test_main_reports_a_missing_model_and_bad_arguments(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RL_BOOK_OUTPUT_DIR", str(tmp_path))
    for argv in (["--test", "--play"], ["--test", "--steps", "0"], ["--steps", "-1"],
                 ["--test", "--seed", "-1"]):
        with pytest.raises(SystemExit) as error:
            dqn_agent.main(argv)
        assert error.value.code == 2
    err = capsys.readouterr().err
    assert "no trained model under" in err and "python FN/dqn_agent.py --test" in err
    assert "argument --steps: must be 1 or more, got 0" in err
    assert "argument --seed: must be from 0 to 4294967295, got -1" in err


def test_ctrl_c_during_training_saves_the_model(tmp_path, monkeypatch, capsys, run_folders,
                                                interrupt_dqn_at):
    monkeypatch.setenv("RL_BOOK_OUTPUT_DIR", str(tmp_path))
    interrupt_dqn_at(1100)
    with pytest.raises(SystemExit) as error:
        dqn_agent.main(["--test", "--no-show"])
    assert error.value.code == 130  # what a shell expects of a program stopped by Ctrl-C
    (run,) = run_folders(tmp_path, "dqn_agent", "cartpole")
    record = json.loads((run / "run.json").read_text())
    assert record["status"] == "interrupted" and record["steps"] == 1100
    assert (run / "dqn_agent_test.keras").is_file()
    assert "interrupted" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.learning
@pytest.mark.parametrize("seed", learning_seeds(0, 1, 2, 3, 4))
def test_test_mode_learns_cartpole(tmp_path, seed, margin):
    # Every seed of 0-4 (a few seconds each). Four of them reach 500 within the budget; seed 4
    # climbs more slowly (best evaluation 228, fresh episodes 204). Random play lasts 22 steps.
    trainer, env = dqn_agent.make_run(test_mode=True, seed=seed, log_dir=str(tmp_path))
    agent = trainer.train(env, test_mode=True, max_steps=dqn_agent.TEST_MODE_MAX_STEPS)
    margin("best evaluation", trainer.evaluation.best, above=195)
    # A fresh, independent evaluation of the kept weights on other episodes.
    returns = evaluate(agent, make_cartpole(num_envs=20), episode_count=20, seed=123)
    margin("fresh mean return", returns.mean(), above=150)
