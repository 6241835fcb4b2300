import json
from functools import cache

from common import set_seed

import keras
import numpy as np
import pytest
import tensorflow as tf

from EV.evolution import CatcherObserver
from MM import world_models as wm
from tests.learning_margins import learning_seeds
from tests.option_checks import BAD_SEEDS, assert_refused

TINY = ["--rollouts", "3", "--rollout-steps", "40", "--vae-steps", "4", "--m-steps", "4",
        "--batch", "8", "--epochs", "2", "--population", "4", "--games", "1",
        "--train-frames", "20", "--eval-interval", "1", "--eval-games", "2"]


def test_v_sees_the_screen_as_evs_observer_does_at_40_by_40():
    env = wm.make_games(3)
    screens, _ = env.reset(seed=1)
    for _ in range(30):
        screens = env.step(np.array([0, 1, 2]))[0]
    observer = CatcherObserver(wm.FRAME_SIZE, wm.FRAME_SIZE, 1, num_games=3)
    expected = np.rint(observer.transform(screens)[..., 0] * 255).astype(np.uint8)
    np.testing.assert_array_equal(wm.preprocess(screens), expected)
    assert wm.to_float(wm.preprocess(screens)).shape == (3, 40, 40, 1)


def test_random_play_is_reproducible_holds_actions_and_pays_one_fruit_at_a_time():
    frames, actions, rewards = wm.collect_rollouts(4, 120, seed=5)
    assert frames.shape == (4, 121, 40, 40) and frames.dtype == np.uint8
    assert actions.shape == rewards.shape == (4, 120)
    again = wm.collect_rollouts(4, 120, seed=5)
    for a, b in zip((frames, actions, rewards), again):
        np.testing.assert_array_equal(a, b)
    assert set(np.unique(rewards)) <= {-1.0, 0.0, 1.0} and (rewards != 0).any()
    # Held actions: far fewer changes than a fresh random action at every step (2/3 of them).
    assert (np.diff(actions, axis=1) != 0).mean() < 0.4
    # The paddle goes everywhere: its bright pixels are seen near both walls.
    paddle_columns = np.nonzero(frames[:, :, -3:].max(axis=2) > 200)[-1]
    assert paddle_columns.min() < 5 and paddle_columns.max() > 34


def test_c_picks_the_largest_of_its_three_outputs():
    z, h = np.zeros((2, 3, wm.Z_SIZE)), np.zeros((2, 3, wm.HIDDEN_SIZE))
    z[:, :, 0] = [-1.0, 0.0, 1.0]
    theta = np.zeros((2, wm.PARAMETERS))
    weights = theta[:, :wm.FEATURES * wm.ACTIONS].reshape(2, wm.FEATURES, wm.ACTIONS)
    weights[0, 0] = [-1.0, 1.0, 0.0]  # member 0: left when z0 < 0, right when z0 > 0
    theta[1, -1] = 1.0  # member 1: bias for action 2 (stay)
    theta[0, -1] = 0.5  # ... and member 0 stays when z0 = 0
    np.testing.assert_array_equal(wm.controller_actions(theta, z, h), [[0, 2, 1], [2, 2, 2]])


def test_the_vae_loss_is_reconstruction_plus_kl():
    set_seed(0)
    vae = wm.build_vae()
    frames = wm.to_float(wm.collect_rollouts(2, 3, seed=0)[0].reshape(-1, 40, 40))
    noise = tf.zeros((len(frames), wm.Z_SIZE))
    mu, log_var, logits = vae(frames)
    bce = -(frames * np.log(tf.sigmoid(logits)) + (1 - frames) * np.log(1 - tf.sigmoid(logits)))
    kl = -0.5 * np.sum(1 + log_var - mu**2 - np.exp(log_var), axis=1)
    expected = np.mean(np.sum(bce, axis=(1, 2, 3)) + kl)
    np.testing.assert_allclose(float(wm.vae_loss(vae, frames, noise)), expected, rtol=1e-4)


def test_m_steps_one_at_a_time_as_the_sequence_model():
    set_seed(1)
    m = wm.build_m()
    z = np.random.default_rng(0).standard_normal((2, 5, wm.Z_SIZE)).astype(np.float32)
    actions = np.array([[0, 1, 2, 2, 0], [1, 1, 0, 2, 1]])
    predicted, logits = m([tf.constant(z), tf.one_hot(actions, wm.ACTIONS)])
    memory = wm.make_memory(m)
    h = np.zeros((2, wm.HIDDEN_SIZE), dtype=np.float32)
    for t in range(5):
        h, next_z, reward = (x.numpy() for x in memory(z[:, t], actions[:, t], h))
        np.testing.assert_allclose(next_z, predicted[:, t], atol=1e-5)
        expected = tf.nn.softmax(logits[:, t]).numpy() @ wm.REWARD_CLASSES
        np.testing.assert_allclose(reward, expected, atol=1e-5)


def test_a_dream_is_played_by_each_member_from_the_same_starts():
    set_seed(2)
    memory = wm.make_memory(wm.build_m())
    theta = np.random.default_rng(0).standard_normal((3, wm.PARAMETERS)).astype(np.float32)
    z0 = np.random.default_rng(1).standard_normal((4, wm.Z_SIZE)).astype(np.float32)
    total, codes = wm.dream(theta, z0, memory, 6)
    assert total.shape == (3, 4) and codes.shape == (7, 3, 4, wm.Z_SIZE)
    np.testing.assert_array_equal(codes[0, 1], z0)
    alone, _ = wm.dream(theta[1:2], z0, memory, 6)
    np.testing.assert_allclose(alone[0], total[1], rtol=1e-5)


def stage_files(run):
    return {path.name for path in run.iterdir()}


def test_a_tiny_run_makes_every_stage_and_plays(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RL_BOOK_OUTPUT_DIR", str(tmp_path))
    run, stages = wm.main(TINY)
    assert {"rollouts.npz", "vae.keras", "m.keras", "controller.npz", "evaluation.json",
            "reconstructions.png", "dream.png", "controller.png",
            "dream_vs_real.gif"} <= stage_files(run)
    assert [stages[s]["status"] for s in wm.STAGES] == ["finished"] * 5
    assert stages["collect"]["real_frames"] == 3 * 40 * wm.FRAME_SKIP
    assert stages["C"]["real_frames"] > stages["collect"]["real_frames"]
    result = json.loads((run / "evaluation.json").read_text())
    assert 0 <= result["catch_rate"] <= 1 and result["games"] == 2
    assert json.loads((run / "run.json").read_text())["status"] == "finished"
    controller = np.load(run / "controller.npz")
    assert list(controller["epoch"]) == [1, 2] and controller["theta"].shape == (wm.PARAMETERS,)
    assert "C は 2 ゲームで" in capsys.readouterr().out
    # One stage again, in the newest run; then the agent plays into a GIF.
    wm.main(["--stage", "evaluate", "--eval-games", "1"])
    assert json.loads((run / "evaluation.json").read_text())["games"] == 1
    rates = wm.main(["--play", "--headless", "--play-episodes", "1"])
    assert len(rates) == 1 and (run / "play.gif").stat().st_size > 0


@pytest.mark.slow
def test_dream_training_uses_no_real_frames_beyond_the_random_play(tmp_path, monkeypatch):
    monkeypatch.setenv("RL_BOOK_OUTPUT_DIR", str(tmp_path))
    _, stages = wm.main(TINY + ["--world", "dream", "--dream-steps", "5",
                                "--temperature", "0.1"])
    assert stages["C"]["world"] == "dream"
    assert stages["C"]["real_frames"] == stages["collect"]["real_frames"]


@pytest.mark.slow
def test_ctrl_c_keeps_what_m_learned_and_the_run_goes_on_from_there(tmp_path, monkeypatch):
    monkeypatch.setenv("RL_BOOK_OUTPUT_DIR", str(tmp_path))
    make_step = wm.make_m_step

    def stopped_at_the_third(m, optimizer):
        step, calls = make_step(m, optimizer), []

        def counted(*batch):
            calls.append(1)
            if len(calls) == 3:
                raise KeyboardInterrupt
            return step(*batch)
        return counted

    monkeypatch.setattr(wm, "make_m_step", stopped_at_the_third)
    with pytest.raises(SystemExit) as stopped:
        wm.main(TINY)
    assert stopped.value.code == 130
    (run,) = (tmp_path / "MM" / "world_models").iterdir()
    stages = wm.read_stages(run)
    assert stages["M"] == {**stages["M"], "status": "interrupted", "steps": 2}
    assert "m.keras" in stage_files(run) and "controller.npz" not in stage_files(run)
    assert json.loads((run / "run.json").read_text())["status"] == "interrupted"
    saved = keras.models.load_model(run / "m.keras").get_weights()
    monkeypatch.setattr(wm, "make_m_step", make_step)
    _, stages = wm.main(TINY + ["--run", str(run)])
    assert stages["M"]["steps"] == 4 and stages["C"]["status"] == "finished"
    assert stages["V"]["steps"] == 4  # kept, not trained again
    resumed = keras.models.load_model(run / "m.keras").get_weights()
    assert any(not np.array_equal(a, b) for a, b in zip(saved, resumed))


@pytest.mark.parametrize("argv, mentions", [
    (["--population", "3"], "--population"), (["--population", "0"], "--population"),
    (["--epochs", "0"], "--epochs"), (["--vae-steps", "x"], "--vae-steps"),
    (["--temperature", "-1"], "--temperature"), (["--world", "moon"], "--world"),
    (["--stage", "W"], "--stage"), (["--run", "no/such/run"], "no/such/run"),
    (["--stage", "C"], "no run yet"), (["--play"], "no trained model"),
] + [(["--seed", seed], "--seed") for seed in BAD_SEEDS])
def test_bad_options_exit_with_status_2_and_one_sentence(argv, mentions, capsys, tmp_path,
                                                         monkeypatch):
    monkeypatch.setenv("RL_BOOK_OUTPUT_DIR", str(tmp_path))
    assert_refused(wm.main, argv, capsys, mentions)


# ------------------------------------------------------------------------------------------
# Learning: V, M and C each learn what they are for, from a small budget of random play.
# ------------------------------------------------------------------------------------------

@cache
def trained(seed):
    """V and M trained on a little random play (shared by the learning tests of one seed)."""
    set_seed(seed)
    frames, actions, rewards = wm.collect_rollouts(24, 100, seed)
    vae = wm.build_vae()
    step = wm.make_vae_step(vae, keras.optimizers.Adam(wm.VAE_LEARNING_RATE))
    rng = np.random.default_rng(seed)
    pool = frames[:-4].reshape(-1, 40, 40)
    for _ in range(800):
        step(wm.to_float(pool[rng.integers(0, len(pool), 64)]))
    z = wm.encode_all(wm.make_encoder(vae), frames)
    m = wm.build_m()
    step = wm.make_m_step(m, keras.optimizers.Adam(wm.M_LEARNING_RATE))
    for _ in range(800):
        step(*wm.sample_windows(z[:-4], actions[:-4], rewards[:-4], 32, 32, rng))
    return frames, actions, z, vae, m


@pytest.mark.slow
@pytest.mark.learning
@pytest.mark.parametrize("seed", learning_seeds(0))
def test_v_reconstructs_better_than_the_mean_frame(seed, margin):
    frames, _, _, vae, _ = trained(seed)
    held_out = wm.to_float(frames[-4:].reshape(-1, 40, 40))[..., 0]
    back = wm.make_decoder(vae)(wm.make_encoder(vae)(held_out[..., None])).numpy()
    mean_frame = wm.to_float(frames[:-4].reshape(-1, 40, 40))[..., 0].mean(axis=0)
    ratio = np.mean((back - held_out) ** 2) / np.mean((mean_frame - held_out) ** 2)
    margin("V's squared error / the mean frame's", ratio, below=0.4)


@pytest.mark.slow
@pytest.mark.learning
@pytest.mark.parametrize("seed", learning_seeds(0))
def test_m_predicts_the_next_z_better_than_z_stays_the_same(seed, margin):
    _, actions, z, _, m = trained(seed)
    now, after = z[-4:, :-1], z[-4:, 1:]
    predicted, _ = m([tf.constant(now), tf.one_hot(actions[-4:], wm.ACTIONS)])
    ratio = np.mean((predicted.numpy() - after) ** 2) / np.mean((now - after) ** 2)
    margin("M's squared error / 'z stays the same'", ratio, below=0.6)


@pytest.mark.slow
@pytest.mark.learning
@pytest.mark.parametrize("seed", learning_seeds(0))
def test_c_catches_clearly_more_than_random_play(seed, margin):
    _, _, _, vae, m = trained(seed)
    encode, memory = wm.make_encoder(vae), wm.make_memory(m)
    rng = np.random.default_rng(seed)

    def fitness(members):
        returns, _, _, _ = wm.play_real(members, 2, int(rng.integers(2**31)), encode, memory,
                                        max_frames=200)
        return returns.mean(axis=1)

    theta, epochs, _ = wm.train_controller(np.zeros(wm.PARAMETERS, dtype=np.float32), 30,
                                           fitness, wm.SIGMA, wm.LEARNING_RATE, 16, rng)
    _, caught, missed, _ = wm.play_real(theta, 20, wm.EVALUATION_SEED, encode, memory)
    learned = caught.sum() / (caught.sum() + missed.sum())
    # Random play: a random action every 2 frames, the same 20 games.
    env = wm.make_games(20)
    env.reset(seed=list(range(wm.EVALUATION_SEED, wm.EVALUATION_SEED + 20)))
    done, counts = np.zeros(20, dtype=bool), np.zeros((2, 20))
    while not done.all():
        _, _, terminated, truncated, info = env.step(rng.integers(0, 3, 20))
        ended = (terminated | truncated) & ~done
        counts[:, ended] = info["caught"][ended], info["missed"][ended]
        done |= ended
    random = counts[0].sum() / counts.sum()
    assert epochs == 30
    margin("C's catch rate minus random play's", learned - random, above=0.15)
