"""DQN on Catcher: the book's convolutional network, a smoke run, saving, loading and playing.

The learning target itself (90% of the fruits caught within 15 minutes) is measured by
``benchmarks/catcher.py``, not here. One slow test trains for 8,000 steps, with the schedule
shortened to fit, and checks that the network has learned to catch far more fruits than a
random policy does; the other runs take seconds.
"""

import json

import keras
import numpy as np
import pytest

from envs.catcher import evaluate_catch_rate
from FN import dqn_agent
from FN.dqn_agent import DeepQNetworkAgent, make_catcher
from FN.replay_buffer import ReplayBuffer
from tests.learning_margins import learning_seeds


def test_the_network_is_the_books_with_same_padding():
    agent = DeepQNetworkAgent(0.1, [0, 1, 2])
    agent.make_model((40, 40, 2))
    convolutions = [layer for layer in agent.model.layers
                    if isinstance(layer, keras.layers.Conv2D)]
    assert [(c.filters, c.kernel_size, c.strides, c.padding) for c in convolutions] == [
        (32, (8, 8), (4, 4), "same"), (64, (4, 4), (2, 2), "same"), (64, (3, 3), (1, 1), "same")]
    # "same" padding keeps a 5×5 grid of features on a 40×40 frame: where things are.
    assert tuple(convolutions[-1].output.shape[1:]) == (5, 5, 64)
    assert agent.model.output_shape == (None, 3)
    assert not agent.jit_compile
    with pytest.raises(ValueError):
        agent.make_model((40, 40))


def test_smoke_run_learns_from_frames_saves_loads_and_plays(tmp_path, monkeypatch, capsys,
                                                            read_scalars, run_folders):
    monkeypatch.setenv("RL_BOOK_OUTPUT_DIR", str(tmp_path))
    trainer = dqn_agent.main(["--steps", "400", "--seed", "3", "--no-show"])
    assert trainer.training and trainer.total_steps == 400
    # Every step went to the replay buffer, the stacks of frames as uint8.
    buffer = trainer.experiences
    assert isinstance(buffer, ReplayBuffer) and buffer.arrays.s.dtype == np.uint8
    assert buffer.arrays.s.shape[1:] == (40, 40, 2) and len(buffer) == 400
    (run,) = run_folders(tmp_path, "dqn_agent", "catcher")
    path = run / "dqn_agent.keras"
    assert path.is_file() and str(path) in capsys.readouterr().out
    assert "losses/td_loss" in read_scalars(run / "deep_q_network")

    gif = dqn_agent.main(["--play", "--headless"])
    assert gif == tmp_path / "FN" / "dqn_agent" / "dqn_agent_play.gif" and gif.is_file()
    assert "Get reward" in capsys.readouterr().out
    # Without a display, --play writes the GIF as well, and says why.
    assert dqn_agent.main(["--play"]) == gif
    assert "No display found" in capsys.readouterr().out


def test_evaluation_images_and_a_saved_agent(tmp_path, read_scalars, summaries):
    trainer, env = dqn_agent.make_run(seed=0, log_dir=tmp_path,
                                      evaluation={"interval": 300, "episode_count": 2})
    agent = trainer.train(env, observe_interval=1, max_steps=600)
    # The catch rate of the greedy policy, every 300 steps, on 2 games played at once.
    evaluation = trainer.evaluation
    assert [steps for steps, _ in evaluation.results] == [300, 600]
    # The agent handed back holds the weights of the best evaluation: replaying that
    # evaluation's games (seeds 10,000 on for seed 0, two per evaluation) gives its rate.
    rates = [rate for _, rate in evaluation.results]
    best = int(np.argmax(rates))
    replayed, _, _ = evaluate_catch_rate(agent.greedy_actions, make_catcher(num_games=2), 2,
                                         seed=10_000 + 2 * best)
    assert replayed == rates[best]
    scalars = read_scalars(tmp_path / "deep_q_network")
    assert len(scalars["charts/eval_catch_rate"]) == 2
    # observe_interval: the frames seen in a training episode became TensorBoard images.
    assert set(summaries(tmp_path / "deep_q_network", "images")) == {"frames"}

    # A saved agent loads and acts as the trained one.
    path = agent.save(tmp_path / "agent.keras")
    env = make_catcher()
    states = np.stack([env.reset(seed=1)] + [env.step(1)[0] for _ in range(5)])
    loaded = DeepQNetworkAgent.load(env, path)
    np.testing.assert_allclose(loaded.forward(states), agent.forward(states), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_array_equal(loaded.greedy_actions(states), agent.greedy_actions(states))


def test_ctrl_c_keeps_what_was_learned(tmp_path, monkeypatch, capsys, run_folders,
                                       interrupt_dqn_at):
    monkeypatch.setenv("RL_BOOK_OUTPUT_DIR", str(tmp_path))
    interrupt_dqn_at(300)
    with pytest.raises(SystemExit) as error:
        dqn_agent.main(["--steps", "400", "--no-show"])
    assert error.value.code == 130
    (run,) = run_folders(tmp_path, "dqn_agent", "catcher")
    assert json.loads((run / "run.json").read_text())["steps"] == 300
    assert (run / "dqn_agent.keras").is_file()
    assert "interrupted" in capsys.readouterr().out


def test_bad_arguments_and_a_missing_model(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RL_BOOK_OUTPUT_DIR", str(tmp_path))
    for argv in (["--play"], ["--steps", "0"], ["--steps", "-5"]):
        with pytest.raises(SystemExit) as error:
            dqn_agent.main(argv)
        assert error.value.code == 2
    err = capsys.readouterr().err
    assert "no trained model under" in err and "python FN/dqn_agent.py`" in err
    assert "argument --steps: must be 1 or more" in err


@pytest.mark.slow
@pytest.mark.learning
@pytest.mark.parametrize("seed", learning_seeds(0))
def test_learns_to_catch_far_more_fruits_than_random_play(tmp_path, fresh_catch_rates, seed,
                                                          margin):
    # The defaults explore for 30,000 steps and refresh the teacher every 1,600; this budget
    # shrinks both so that the values can travel from the fruit's landing back up its fall.
    # Measured on seeds 0-4: 91% to 100% of the fruits of fresh games caught (with 8,000 steps
    # seed 0 caught only 56%); random play about 38%.
    steps = 12_000
    trainer, env = dqn_agent.make_run(
        seed=seed, log_dir=tmp_path, evaluation={"interval": steps}, learning_starts=1_000,
        epsilon_decay_steps=steps // 2, teacher_update_steps=400)
    agent = trainer.train(env, max_steps=steps)
    assert trainer.total_steps == steps
    rate, random_rate = fresh_catch_rates(agent)
    assert 0.25 < random_rate < 0.5
    margin("catch rate", rate, above=0.8)
