"""A2C on Catcher: the convolutional actor-critic, a smoke run over a batch of games, saving,
loading and playing.

The time to a 90% catch rate is measured by ``benchmarks/catcher.py``, not here. One slow
test trains until an evaluation catches 70% of the fruits and checks fresh games against random
play; the other runs take seconds.
"""

import json

import keras
import numpy as np
import pytest

from FN import a2c_agent
from FN.a2c_agent import ActorCriticAgent, ActorCriticTrainer, make_catcher
from tests.learning_margins import learning_seeds


def test_shared_trunk_with_a_policy_head_and_a_value_head():
    agent = ActorCriticAgent([0, 1, 2])
    agent.make_model((40, 40, 2))
    model = agent.model
    convolutions = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [(c.filters, c.kernel_size, c.strides, c.padding) for c in convolutions] == [
        (32, (8, 8), (4, 4), "same"), (64, (4, 4), (2, 2), "same"), (64, (3, 3), (1, 1), "same")]
    # Both heads read the same 256 features: one trunk, two heads.
    policy, value = model.get_layer("action_evals"), model.get_layer("values")
    assert policy.input is value.input and policy.units == 3 and value.units == 1
    assert [tuple(output.shape) for output in model.outputs] == [(None,), (None, 3), (None, 1)]


def test_smoke_run_over_a_batch_saves_loads_and_plays(tmp_path, monkeypatch, capsys,
                                                      read_scalars, summaries, run_folders):
    monkeypatch.setenv("RL_BOOK_OUTPUT_DIR", str(tmp_path))
    trainer = a2c_agent.main(["--steps", "768", "--envs", "8", "--no-show"])
    # 8 games, 32 steps each between updates (batches of 256): 3 rollouts, 2 updates.
    assert trainer.training and trainer.total_steps >= 768 and trainer.training_count == 2
    (run,) = run_folders(tmp_path, "a2c_agent", "catcher")
    path = run / "a2c_agent.keras"
    assert path.is_file() and str(path) in capsys.readouterr().out
    scalars = read_scalars(run / "actor_critic")
    assert len(scalars["losses/entropy"]) == 2
    # observe_interval: the games' newest frames became TensorBoard images.
    assert set(summaries(run / "actor_critic", "images")) == {"frames"}
    folder = tmp_path / "FN" / "a2c_agent"

    env = make_catcher()
    states = np.stack([env.reset(seed=2)] + [env.step(2)[0] for _ in range(5)])
    loaded = ActorCriticAgent.load(env, path)
    logits, values = loaded.evaluate_states(states)
    assert logits.shape == (6, 3) and values.shape == (6,)
    probabilities = loaded.estimate(states[0])
    assert probabilities.shape == (3,) and np.isclose(probabilities.sum(), 1.0)

    gif = a2c_agent.main(["--play", "--headless"])
    assert gif == folder / "a2c_agent_play.gif" and gif.is_file()
    assert "Get reward" in capsys.readouterr().out


def test_evaluation_keeps_the_best_weights(tmp_path, read_scalars):
    trainer, env = a2c_agent.make_run(seed=1, n_envs=8, log_dir=tmp_path,
                                      evaluation={"interval": 512, "episode_count": 2})
    agent = trainer.train(env, max_steps=1024)
    # Every 512 steps (counted after each rollout of 8 games x 32 steps, whose steps that
    # only reset a finished game do not count), the catch rate on 2 games at once.
    steps = [step for step, _ in trainer.evaluation.results]
    assert len(steps) == 2 and 512 <= steps[0] < 1024 <= steps[1]
    rates = read_scalars(tmp_path / "actor_critic")["charts/eval_catch_rate"]
    assert len(rates) == 2 and all(0.0 <= rate <= 1.0 for _, rate in rates)
    # A saved agent loads and acts as the trained one (the best evaluation's weights).
    path = agent.save(tmp_path / "agent.keras")
    env = make_catcher()
    states = np.stack([env.reset(seed=1)] + [env.step(0)[0] for _ in range(5)])
    loaded = ActorCriticAgent.load(env, path)
    np.testing.assert_allclose(loaded.evaluate_states(states)[0],
                               agent.evaluate_states(states)[0], rtol=1e-5, atol=1e-6)


def test_ctrl_c_keeps_what_was_learned(tmp_path, monkeypatch, capsys, run_folders):
    monkeypatch.setenv("RL_BOOK_OUTPUT_DIR", str(tmp_path))
    original_update = ActorCriticAgent.update

    def update_then_interrupt(self, *args, **kwargs):
        original_update(self, *args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(ActorCriticAgent, "update", update_then_interrupt)
    with pytest.raises(SystemExit) as error:
        a2c_agent.main(["--steps", "5000", "--envs", "8", "--no-show"])
    assert error.value.code == 130
    (run,) = run_folders(tmp_path, "a2c_agent", "catcher")
    record = json.loads((run / "run.json").read_text())
    assert record["status"] == "interrupted" and record["steps"] < 5000
    assert (run / "a2c_agent.keras").is_file()
    assert "interrupted" in capsys.readouterr().out


def test_bad_arguments_and_a_missing_model(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RL_BOOK_OUTPUT_DIR", str(tmp_path))
    for argv in (["--play"], ["--steps", "0"], ["--envs", "0"]):
        with pytest.raises(SystemExit) as error:
            a2c_agent.main(argv)
        assert error.value.code == 2
    err = capsys.readouterr().err
    assert "no trained model under" in err and "python FN/a2c_agent.py`" in err
    assert "--steps: must be 1 or more" in err and "--envs: must be 1 or more" in err


def test_the_trainer_needs_next_step_resets(tmp_path):
    from gymnasium.vector import AutoresetMode

    env = make_catcher(num_games=2, autoreset_mode=AutoresetMode.SAME_STEP)
    with pytest.raises(ValueError, match="NEXT_STEP"):
        ActorCriticTrainer(log_dir=tmp_path).train(env, max_steps=10)


@pytest.mark.slow
@pytest.mark.learning
@pytest.mark.parametrize("seed", learning_seeds(0))
def test_learns_to_catch_far_more_fruits_than_random_play(tmp_path, fresh_catch_rates, seed,
                                                          margin):
    # A2C learns Catcher slowly at first: with seed 0 its evaluations stay near random play
    # until about 140,000 steps, then climb. Training stops at the first evaluation of 70%.
    trainer, env = a2c_agent.make_run(seed=seed, log_dir=tmp_path, evaluation={"target": 0.7})
    agent = trainer.train(env, max_steps=240_000)
    margin("best evaluation", trainer.evaluation.best, above=0.6)
    rate, random_rate = fresh_catch_rates(agent)
    assert 0.25 < random_rate < 0.5
    margin("catch rate", rate, above=0.6)
