"""Day6: World Models (Ha & Schmidhuber, 2018) on Catcher — see, remember, then act.

Three parts with the paper's names: V, a variational autoencoder, squeezes each 40×40 gray
frame into a few numbers z; M, a recurrent network (GRU), learns from z and the action what
comes next (the next z and the reward), and its memory h holds what one frame cannot show
(how fast the paddle slides); C, a linear controller on [z, h], picks the action. V and M
learn from random play; C is trained by the evolution strategy of ``EV/evolution.py``, in the
real game or inside M's dream.

    python MM/world_models.py                   # collect → V → M → C → evaluate (outputs/MM/)
    python MM/world_models.py --stage V         # one stage again, in the newest run
    python MM/world_models.py --play            # watch the trained agent (or write a GIF)

Not in the book (its Day6 names World Models only). Departures from the paper: M predicts
the next z itself (no mixture density), and C picks one of three actions by its largest output.
"""

import argparse
import json
import time
from pathlib import Path

import common

import gymnasium as gym
import keras
import numpy as np
import tensorflow as tf
from gymnasium.vector import AutoresetMode
from tqdm import tqdm

from envs.catcher import (
    GRAY_WEIGHTS,
    MAX_EPISODE_STEPS,
    CatcherVectorEnv,
    area_weights,
    catch_rate,
)
from EV.evolution import es_update

FRAME_SIZE, SCREEN_SIZE, FRAME_SKIP, ACTIONS = 40, 64, 2, 3
Z_SIZE, HIDDEN_SIZE = 32, 64  # V's latent size, M's memory size
VAE_LEARNING_RATE, M_LEARNING_RATE = 1e-3, 1e-3
# C's evolution: epochs, members (mirrored pairs), games per member, frames per training game,
# noise scale σ and step size (doc/day6_world_models.md says how they were chosen).
EPOCHS, POPULATION, GAMES, TRAIN_FRAMES, SIGMA, LEARNING_RATE = 80, 16, 2, 200, 0.1, 0.1
FEATURES = Z_SIZE + HIDDEN_SIZE  # what C sees: [z, h]
STAGES = ("collect", "V", "M", "C", "evaluate")
FILES = {"collect": "rollouts.npz", "V": "vae.keras", "M": "m.keras", "C": "controller.npz",
         "evaluate": "evaluation.json"}
TRAIN_COMMAND = "python MM/world_models.py"
EVALUATION_GAMES, EVALUATION_SEED = 100, 10**6  # games that training never plays
# DQN's greedy policy first caught 90% after about this many frames (doc/day4.md).
DQN_FRAMES_TO_90 = 20_000
# Shrinking 64×64 to 40×40 by averaging each output pixel's area, as FN's and EV's observers.
ROWS = area_weights(SCREEN_SIZE, FRAME_SIZE)
COLUMNS = np.ascontiguousarray(ROWS.T)


def preprocess(screens):
    """RGB screens (..., 64, 64, 3) → 8-bit gray frames (..., 40, 40), what V sees."""
    gray = np.asarray(screens, dtype=np.float32) @ GRAY_WEIGHTS
    return np.rint(ROWS @ gray @ COLUMNS).astype(np.uint8)


def to_float(frames):
    """uint8 frames (..., 40, 40) → float32 (..., 40, 40, 1) in [0, 1], V's input."""
    return (np.asarray(frames, dtype=np.float32) * np.float32(1 / 255))[..., None]


# ------------------------------------------------------------------------------------------
# Data: random play. A random action every frame only shakes the paddle in the middle of the
# screen; holding each random action for a few steps sends it everywhere, so that V and M see
# every paddle position and speed. Many lives: games never end, and M never sees a game over.
# ------------------------------------------------------------------------------------------

def make_games(num_games, max_frames=None, lives=3):
    """A batch of Catcher games that restarts a finished game on its next step."""
    return CatcherVectorEnv(num_games, max_episode_steps=max_frames, init_lives=lives,
                            autoreset_mode=AutoresetMode.NEXT_STEP)


def collect_rollouts(num_games, num_steps, seed, hold=8):
    """Random play: ``(frames, actions, rewards)`` of shapes (G, T + 1, 40, 40), (G, T), (G, T).

    Each of the G games plays T steps of ``FRAME_SKIP`` frames; a step's reward is the sum
    over its frames (+1 caught, −1 missed). Each random action is held 1 to ``hold`` steps.
    """
    rng = np.random.default_rng(seed)
    env = make_games(num_games, lives=10**9)
    screens, _ = env.reset(seed=seed)
    frames = np.zeros((num_games, num_steps + 1, FRAME_SIZE, FRAME_SIZE), dtype=np.uint8)
    actions = np.zeros((num_games, num_steps), dtype=np.int64)
    rewards = np.zeros((num_games, num_steps), dtype=np.float32)
    frames[:, 0] = preprocess(screens)
    action, left = rng.integers(0, ACTIONS, num_games), np.zeros(num_games, dtype=np.int64)
    for t in tqdm(range(num_steps), desc="Random play", unit="step", leave=False):
        renew = left <= 0
        action = np.where(renew, rng.integers(0, ACTIONS, num_games), action)
        left = np.where(renew, rng.integers(1, hold + 1, num_games), left) - 1
        for _ in range(FRAME_SKIP):
            screens, reward, _, _, _ = env.step(action)
            rewards[:, t] += reward
        actions[:, t] = action
        frames[:, t + 1] = preprocess(screens)
    return frames, actions, rewards


# ------------------------------------------------------------------------------------------
# V: the variational autoencoder. The encoder gives a mean μ and a log-variance of z; the
# decoder draws the frame back from z. Its loss (the negative ELBO) is how badly the frame
# comes back plus how far the code's distribution is from N(0, 1) (the KL term): the second
# keeps nearby z meaning nearby frames, which is what lets M dream in z-space.
# ------------------------------------------------------------------------------------------

def build_vae(z_size=Z_SIZE):
    """V as one Keras model with two parts, ``encoder`` (frame → μ, log σ²) and ``decoder``."""
    frame = keras.Input((FRAME_SIZE, FRAME_SIZE, 1))
    x = frame
    for filters in (32, 64, 64):  # 40 → 20 → 10 → 5
        x = keras.layers.Conv2D(filters, 4, strides=2, padding="same", activation="relu")(x)
    x = keras.layers.Flatten()(x)
    encoder = keras.Model(frame, [keras.layers.Dense(z_size, name="mu")(x),
                                  keras.layers.Dense(z_size, name="log_var")(x)], name="encoder")
    z = keras.Input((z_size,))
    x = keras.layers.Dense(5 * 5 * 64, activation="relu")(z)
    x = keras.layers.Reshape((5, 5, 64))(x)
    for filters in (64, 32):
        x = keras.layers.Conv2DTranspose(filters, 4, strides=2, padding="same",
                                         activation="relu")(x)
    logits = keras.layers.Conv2DTranspose(1, 4, strides=2, padding="same")(x)  # 40×40
    decoder = keras.Model(z, logits, name="decoder")
    mu, log_var = encoder(frame)
    return keras.Model(frame, [mu, log_var, decoder(mu)], name="vae")


def vae_loss(vae, frames, noise, kl_weight=1.0):
    """The negative ELBO per frame: reconstruction (cross-entropy over pixels) + KL."""
    mu, log_var = vae.get_layer("encoder")(frames)
    z = mu + tf.exp(0.5 * log_var) * noise  # the reparameterization trick: noise from outside
    logits = vae.get_layer("decoder")(z)
    reconstruction = tf.reduce_sum(
        tf.nn.sigmoid_cross_entropy_with_logits(labels=frames, logits=logits), axis=[1, 2, 3])
    kl = -0.5 * tf.reduce_sum(1 + log_var - tf.square(mu) - tf.exp(log_var), axis=1)
    return tf.reduce_mean(reconstruction + kl_weight * kl)


def make_vae_step(vae, optimizer):
    """One compiled gradient step of V on a batch of frames; returns the loss."""
    @tf.function
    def step(frames):
        noise = tf.random.normal((tf.shape(frames)[0], vae.get_layer("decoder").input_shape[-1]))
        with tf.GradientTape() as tape:
            loss = vae_loss(vae, frames, noise)
        optimizer.apply_gradients(zip(tape.gradient(loss, vae.trainable_variables),
                                      vae.trainable_variables))
        return loss
    return step


def make_encoder(vae):
    """A compiled V: uint8-valued float frames (N, 40, 40, 1) in [0, 1] → μ (N, Z)."""
    encoder = vae.get_layer("encoder")
    # One signature for any batch size: the game loops call it with batches of many sizes.
    signature = [tf.TensorSpec((None, FRAME_SIZE, FRAME_SIZE, 1), tf.float32)]
    return tf.function(lambda frames: encoder(frames)[0], input_signature=signature)


def make_decoder(vae):
    """A compiled decoder: z (N, Z) → frames (N, 40, 40) in [0, 1]."""
    decoder = vae.get_layer("decoder")
    signature = [tf.TensorSpec((None, decoder.input_shape[-1]), tf.float32)]
    return tf.function(lambda z: tf.sigmoid(decoder(z))[..., 0], input_signature=signature)


def encode_all(encode, frames, batch=1024):
    """μ of every frame of an array (..., 40, 40) of uint8 frames, as (..., Z) float32."""
    flat = frames.reshape(-1, FRAME_SIZE, FRAME_SIZE)
    z = np.concatenate([encode(to_float(flat[i:i + batch])).numpy()
                        for i in range(0, len(flat), batch)])
    return z.reshape(*frames.shape[:-2], -1)


# ------------------------------------------------------------------------------------------
# M: the memory. One GRU step reads [z_t, a_t] into h_{t+1}; from h_{t+1} M predicts the next
# z (as a change from z_t) and the reward of that step as three classes (missed, nothing,
# caught). Trained on windows of the random play, each window starting from h = 0.
# ------------------------------------------------------------------------------------------

REWARD_CLASSES = np.array([-1.0, 0.0, 1.0], dtype=np.float32)


def build_m(z_size=Z_SIZE, hidden_size=HIDDEN_SIZE):
    """M for whole sequences: (z, one-hot a) of shape (B, T, ·) → (next z, reward logits)."""
    z = keras.Input((None, z_size), name="z")
    action = keras.Input((None, ACTIONS), name="action")
    x = keras.layers.Concatenate()([z, action])
    h = keras.layers.RNN(keras.layers.GRUCell(hidden_size), return_sequences=True,
                         name="rnn")(x)
    change = keras.layers.Dense(z_size, name="next_z")(h)
    reward = keras.layers.Dense(len(REWARD_CLASSES), name="reward")(h)
    return keras.Model([z, action], [keras.layers.Add()([z, change]), reward], name="m")


def reward_class(rewards):
    """Step rewards → class 0 (missed), 1 (nothing) or 2 (caught)."""
    return (np.sign(rewards) + 1).astype(np.int64)


def make_m_step(m, optimizer):
    """One compiled gradient step of M on windows: z error (MSE) + reward cross-entropy."""
    @tf.function
    def step(z, actions, next_z, reward_classes):
        with tf.GradientTape() as tape:
            predicted, logits = m([z, tf.one_hot(actions, ACTIONS)])
            z_loss = tf.reduce_mean(tf.square(predicted - next_z))
            reward_loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=reward_classes, logits=logits))
            loss = z_loss + reward_loss
        optimizer.apply_gradients(zip(tape.gradient(loss, m.trainable_variables),
                                      m.trainable_variables))
        return z_loss, reward_loss
    return step


def make_memory(m):
    """M one step at a time: ``(z, actions, h) → (h', predicted next z, expected reward)``.

    The same weights as the sequence model: its GRU cell and its two heads, compiled."""
    cell, next_z, reward = (m.get_layer(name) for name in ("rnn", "next_z", "reward"))
    values = tf.constant(REWARD_CLASSES)

    signature = [tf.TensorSpec((None, next_z.units), tf.float32),  # z
                 tf.TensorSpec((None,), tf.int64),  # actions
                 tf.TensorSpec((None, cell.cell.units), tf.float32)]  # h

    @tf.function(input_signature=signature)
    def memory(z, actions, h):
        output, _ = cell.cell(tf.concat([z, tf.one_hot(actions, ACTIONS)], axis=1), [h])
        expected = tf.reduce_sum(tf.nn.softmax(reward(output)) * values, axis=1)
        return output, z + next_z(output), expected
    return memory


def sample_windows(z, actions, rewards, batch, length, rng):
    """``batch`` random windows of ``length`` steps from the encoded random play."""
    games = rng.integers(0, len(z), batch)
    starts = rng.integers(0, actions.shape[1] - length + 1, batch)
    steps = starts[:, None] + np.arange(length)
    return (z[games[:, None], steps], actions[games[:, None], steps],
            z[games[:, None], steps + 1], reward_class(rewards[games[:, None], steps]))


# ------------------------------------------------------------------------------------------
# C: the controller. Three outputs W·[z, h] + b; the largest one is the action. Its few
# hundred weights are a flat vector θ, which the evolution strategy moves.
# ------------------------------------------------------------------------------------------

PARAMETERS = (FEATURES + 1) * ACTIONS


def controller_actions(theta, z, h):
    """The actions of C with weights ``theta`` (P, PARAMETERS) for P groups of games.

    ``z`` and ``h`` have shape (P, G, ·): group p plays with weights ``theta[p]``."""
    weights = theta[:, :FEATURES * ACTIONS].reshape(-1, FEATURES, ACTIONS)
    bias = theta[:, FEATURES * ACTIONS:]
    features = np.concatenate([z, h], axis=-1)
    return (np.einsum("pgf,pfa->pga", features, weights) + bias[:, None]).argmax(axis=-1)


def play_real(theta, games, seed, encode, memory, max_frames=MAX_EPISODE_STEPS, record=False):
    """C with each row of ``theta`` plays ``games`` real games (every row the same games).

    Each game runs until its end (lives lost, or ``max_frames``). Returns ``(returns, caught,
    missed, frames)``, each of shape (P, games), where ``frames`` counts the real frames each
    game used; with ``record``, also the first game's screens, decoded dreams aside.
    """
    theta = np.atleast_2d(theta)
    members, n = len(theta), len(theta) * games
    env = make_games(n, max_frames=max_frames)
    screens, _ = env.reset(seed=[seed + g for _ in range(members) for g in range(games)])
    h = np.zeros((n, HIDDEN_SIZE), dtype=np.float32)
    returns, frames = np.zeros(n), np.zeros(n, dtype=np.int64)
    caught, missed = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    done, shown = np.zeros(n, dtype=bool), []
    while not done.all():
        seen = preprocess(screens)
        if record:
            shown.append(seen[0])
        z = encode(to_float(seen)).numpy()
        actions = controller_actions(theta, z.reshape(members, games, -1),
                                     h.reshape(members, games, -1)).reshape(n)
        for _ in range(FRAME_SKIP):
            playing = ~done
            screens, rewards, terminated, truncated, info = env.step(actions)
            frames += playing
            returns += np.where(playing, rewards, 0.0)
            ended = (terminated | truncated) & playing
            caught[ended], missed[ended] = info["caught"][ended], info["missed"][ended]
            done |= ended
        h = memory(z, actions, h)[0].numpy()
    result = tuple(a.reshape(members, games) for a in (returns, caught, missed, frames))
    return (*result, np.array(shown)) if record else result


def dream(theta, z0, memory, steps, rng=None, temperature=0.0, h0=None):
    """C with each row of ``theta`` plays ``steps`` steps inside M, from the codes ``z0``.

    Nothing real is played: M says where z goes and what reward comes. Returns the summed
    expected rewards (P, len(z0)) and the dreamed codes (steps + 1, P, len(z0), Z). M's
    memory starts empty, or at ``h0`` (one row per start).
    ``temperature`` adds noise of that scale to each predicted z, so that C cannot exploit
    one of M's mistakes that a slightly different world would not repeat.
    """
    theta = np.atleast_2d(theta)
    members, games = len(theta), len(z0)
    z = np.tile(np.asarray(z0, dtype=np.float32), (members, 1))
    h = np.zeros((len(z), HIDDEN_SIZE), dtype=np.float32) if h0 is None else np.tile(h0,
                                                                                   (members, 1))
    total, codes = np.zeros(len(z)), [z]
    for _ in range(steps):
        actions = controller_actions(theta, z.reshape(members, games, -1),
                                     h.reshape(members, games, -1)).reshape(-1)
        h, z, reward = (x.numpy() for x in memory(z, actions, h))
        if temperature > 0:
            z = z + temperature * rng.standard_normal(z.shape).astype(np.float32)
        total += reward
        codes.append(z)
    return total.reshape(members, games), np.array(codes).reshape(steps + 1, members, games, -1)


def train_controller(theta, epochs, fitness, sigma, learning_rate, population, rng, log=None,
                     start=0):
    """Evolve C's weights θ with the project's evolution strategy (``EV.evolution.es_update``).

    Each epoch draws ``population // 2`` noises ε and plays θ + σε and θ − σε (mirrored
    members: their rewards' difference is a clean estimate of the slope along ε);
    ``fitness(members)`` returns their rewards. ``log(epoch, rewards, θ)`` is told each epoch.
    The step stays ``learning_rate`` for the first half of the ``start + epochs`` epochs, then
    shrinks linearly towards 0, so that θ settles instead of jumping around a good point.
    Ctrl-C keeps the last finished epoch's θ. Returns ``(θ, epochs done, interrupted)``.
    """
    done, total = 0, start + epochs
    try:
        for epoch in tqdm(range(start, total), desc="C (evolution)", unit="epoch"):
            half = rng.standard_normal((population // 2, PARAMETERS)).astype(np.float32)
            noises = np.concatenate([half, -half])
            rewards = fitness(theta + sigma * noises)
            step = learning_rate * min(1.0, 2 * (1 - epoch / total))
            theta = es_update(theta, noises, rewards, sigma, step)
            done += 1
            if log is not None:
                log(done, rewards, theta)
    except KeyboardInterrupt:
        tqdm.write(f"{done} エポックで中断しました。C はそこまでに学んだ重みを残します "
                   "(interrupted: C keeps what it learned).")
        return theta, done, True
    return theta, done, False


# ------------------------------------------------------------------------------------------
# The stages and their files. Each stage saves into the run folder, atomically, and notes in
# stages.json how far it got, so that a stopped run goes on from there (``--run DIR``).
# ------------------------------------------------------------------------------------------

def read_stages(run_dir):
    path = Path(run_dir) / "stages.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def note_stage(run_dir, stage, **record):
    stages = read_stages(run_dir)
    stages[stage] = record
    with common.atomic_path(Path(run_dir) / "stages.json") as temporary:
        temporary.write_text(json.dumps(stages, indent=2) + "\n", encoding="utf-8")


def save_npz(path, **arrays):
    with common.atomic_path(path) as temporary, open(temporary, "wb") as file:
        np.savez(file, **arrays)
    print(f"Saved {path}")


def save_model(model, path):
    with common.atomic_path(path) as temporary:
        model.save(temporary)
    print(f"Saved {path}")


def load_npz(path):
    """The arrays of an .npz file this script saved; one sentence and exit 2 otherwise."""
    try:
        with np.load(path, allow_pickle=False) as data:  # never run code hidden in a file
            return {name: data[name] for name in data.files}
    except (OSError, ValueError, EOFError) as error:
        common.exit_with_error(f"{path} cannot be read ({type(error).__name__}); run the stage "
                               f"that makes it again with `{TRAIN_COMMAND} --stage ...`")


def needs(run_dir, stage):
    """The file of an earlier ``stage``, or one sentence and exit 2 when it is missing."""
    path = Path(run_dir) / FILES[stage]
    if not path.is_file():
        common.exit_with_error(f"{run_dir} has no {FILES[stage]} yet: run "
                               f"`{TRAIN_COMMAND} --run {run_dir} --stage {stage}` first")
    return path


def run_collect(run_dir, args):
    frames, actions, rewards = collect_rollouts(args.rollouts, args.rollout_steps, args.seed)
    save_npz(Path(run_dir) / FILES["collect"], frames=frames, actions=actions, rewards=rewards)
    real = frames.shape[0] * (frames.shape[1] - 1) * FRAME_SKIP
    print(f"ランダムな行動で {real:,} フレームを集めました [collected {real:,} real frames]")
    return {"status": "finished", "real_frames": real}


def run_vae(run_dir, args, record):
    data = load_npz(needs(run_dir, "collect"))["frames"]
    frames = data[:-1].reshape(-1, FRAME_SIZE, FRAME_SIZE)  # the last game is held out
    path = Path(run_dir) / FILES["V"]
    start = record.get("steps", 0) if path.is_file() else 0
    vae = common.load_keras_model(path, TRAIN_COMMAND) if start else build_vae()
    step = make_vae_step(vae, keras.optimizers.Adam(VAE_LEARNING_RATE))
    rng = np.random.default_rng([args.seed, 1, start])
    done, losses, interrupted = start, [], False
    try:
        for done in tqdm(range(start + 1, args.vae_steps + 1), desc="V (VAE)", unit="step"):
            losses.append(float(step(to_float(frames[rng.integers(0, len(frames),
                                                                   args.batch)]))))
            if done % 500 == 0:
                tqdm.write(f"ステップ {done}: V の損失 {np.mean(losses[-500:]):.1f} (V's loss)")
    except KeyboardInterrupt:
        interrupted, done = True, done - 1
    save_model(vae, path)
    plot_reconstructions(vae, data[-1], Path(run_dir) / "reconstructions.png")
    return {"status": "interrupted" if interrupted else "finished", "steps": done}


def run_m(run_dir, args, record):
    rollouts = load_npz(needs(run_dir, "collect"))
    vae = common.load_keras_model(needs(run_dir, "V"), TRAIN_COMMAND)
    z = encode_all(make_encoder(vae), rollouts["frames"])
    actions, rewards = rollouts["actions"], rollouts["rewards"]
    path = Path(run_dir) / FILES["M"]
    start = record.get("steps", 0) if path.is_file() else 0
    m = common.load_keras_model(path, TRAIN_COMMAND) if start else build_m()
    step = make_m_step(m, keras.optimizers.Adam(M_LEARNING_RATE))
    rng = np.random.default_rng([args.seed, 2, start])
    length = min(32, actions.shape[1])
    done, interrupted = start, False
    try:
        for done in tqdm(range(start + 1, args.m_steps + 1), desc="M (GRU)", unit="step"):
            z_loss, reward_loss = step(*sample_windows(z[:-1], actions[:-1], rewards[:-1],
                                                       args.batch // 2, length, rng))
            if done % 500 == 0:
                tqdm.write(f"ステップ {done}: M の z の誤差 {float(z_loss):.3f}、報酬の損失 "
                           f"{float(reward_loss):.3f} (M's z error, reward loss)")
    except KeyboardInterrupt:
        interrupted, done = True, done - 1
    save_model(m, path)
    plot_dream(vae, m, rollouts["frames"][-1], actions[-1], Path(run_dir) / "dream.png")
    return {"status": "interrupted" if interrupted else "finished", "steps": done}


def run_controller(run_dir, args, record, collected):
    """Train C by evolution, in the real game (``--world real``) or in M's dream."""
    rollouts = load_npz(needs(run_dir, "collect"))
    vae = common.load_keras_model(needs(run_dir, "V"), TRAIN_COMMAND)
    m = common.load_keras_model(needs(run_dir, "M"), TRAIN_COMMAND)
    encode, memory = make_encoder(vae), make_memory(m)
    path = Path(run_dir) / FILES["C"]
    saved = load_npz(path) if path.is_file() and record.get("status") == "interrupted" else {}
    theta = saved.get("theta", np.zeros(PARAMETERS, dtype=np.float32))
    curve = {name: list(saved.get(name, [])) for name in CURVE}
    start = len(curve["epoch"])
    used = curve["frames"][-1] if start else collected
    rng = np.random.default_rng([args.seed, 3, start])
    starts = encode_all(encode, rollouts["frames"][:-1]).reshape(-1, Z_SIZE)
    last = {}

    def fitness(members):
        nonlocal used
        if args.world == "dream":
            total, _ = dream(members, starts[rng.integers(0, len(starts), args.games)], memory,
                             args.dream_steps, rng, args.temperature)
            last["catch"] = np.nan
            return total.mean(axis=1)
        returns, caught, missed, frames = play_real(
            members, args.games, int(rng.integers(2**31)), encode, memory, args.train_frames)
        used += int(frames.sum())
        last["catch"] = catch_rate({"caught": caught.sum(), "missed": missed.sum()})
        return returns.mean(axis=1)

    def log(epoch, rewards, theta):
        epoch += start
        curve["epoch"].append(epoch)
        curve["frames"].append(used)
        curve["population_catch"].append(last["catch"])
        curve["population_reward"].append(float(rewards.mean()))
        rate = np.nan
        if epoch % args.eval_interval == 0 or epoch == args.epochs:
            _, caught, missed, _ = play_real(theta, CHECK_GAMES, CHECK_SEED, encode, memory)
            rate = catch_rate({"caught": caught.sum(), "missed": missed.sum()})
            tqdm.write(f"エポック {epoch}: 集団の報酬 {rewards.mean():.3f} "
                       f"(± {rewards.std():.3f})、C のキャッチ率 {rate:.1%}、本物のフレーム "
                       f"{used:,} (reward; C's catch rate; real frames)")
        curve["check_catch"].append(rate)

    theta, _, interrupted = train_controller(theta, max(0, args.epochs - start), fitness,
                                             args.sigma, args.learning_rate, args.population,
                                             rng, log, start=start)
    save_npz(path, theta=theta, **{name: np.asarray(values) for name, values in curve.items()})
    if curve["epoch"]:
        plot_controller(curve, collected, args.world, Path(run_dir) / "controller.png")
    return {"status": "interrupted" if interrupted else "finished",
            "epochs": len(curve["epoch"]), "real_frames": int(used), "world": args.world}


# What the controller stage logs each epoch, and the games of its periodic check on C.
CURVE = ("epoch", "frames", "population_catch", "population_reward", "check_catch")
CHECK_GAMES, CHECK_SEED = 10, 2 * 10**6


def load_agent(run_dir):
    """V's encoder, M's step, V's decoder and C's θ of a run folder."""
    vae = common.load_keras_model(needs(run_dir, "V"), TRAIN_COMMAND)
    m = common.load_keras_model(needs(run_dir, "M"), TRAIN_COMMAND)
    theta = load_npz(needs(run_dir, "C")).get("theta")
    if theta is None or theta.shape != (PARAMETERS,):
        common.exit_with_error(f"{run_dir} holds no controller of this script's size")
    return make_encoder(vae), make_memory(m), make_decoder(vae), theta


def run_evaluate(run_dir, args):
    encode, memory, decode, theta = load_agent(run_dir)
    _, caught, missed, frames = play_real(theta, args.eval_games, EVALUATION_SEED, encode,
                                          memory)
    rate = catch_rate({"caught": caught.sum(), "missed": missed.sum()})
    stages = read_stages(run_dir)
    used = stages.get("C", {}).get("real_frames") or stages["collect"]["real_frames"]
    print(f"C は {args.eval_games} ゲームで果物の {rate:.1%} を取りました "
          f"[C catches {rate:.1%} of the fruit over {args.eval_games} games]; "
          f"学習に使った本物のフレーム [real frames used to learn]: {used:,}")
    save_dream_gif(encode, memory, decode, theta, args.seed, Path(run_dir) / "dream_vs_real.gif")
    result = {"catch_rate": rate, "games": args.eval_games, "real_frames": used,
              "caught": int(caught.sum()), "missed": int(missed.sum())}
    with common.atomic_path(Path(run_dir) / FILES["evaluate"]) as temporary:
        temporary.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return {"status": "finished", **result}


# ------------------------------------------------------------------------------------------
# Pictures: what V keeps of a frame, what M dreams, how C learned, and a dream beside the game.
# ------------------------------------------------------------------------------------------

def plot_reconstructions(vae, frames, path, count=8):
    """Real frames (top), V's reconstructions (middle) and the mean frame's error (bottom)."""
    import matplotlib.pyplot as plt

    picked = frames[np.linspace(5, len(frames) - 1, count).astype(int)]
    real = to_float(picked)[..., 0]
    back = make_decoder(vae)(make_encoder(vae)(to_float(picked))).numpy()
    fig, axes = plt.subplots(2, count, figsize=(1.6 * count, 3.9))
    for i in range(count):
        for row, (image, name) in enumerate(((real, "本物 (real)"), (back, "V の再構成"))):
            axes[row, i].imshow(image[i], cmap="gray", vmin=0, vmax=1)
            axes[row, i].set_xticks([])
            axes[row, i].set_yticks([])
            if i == 0:
                axes[row, i].set_ylabel(name)
    error = np.mean((back - real) ** 2)
    fig.suptitle(f"V (VAE): 40×40 の画面を {Z_SIZE} 個の数 z に縮めて戻す "
                 f"(二乗誤差 {error:.4f}) [frames and reconstructions]")
    common.save_figure(fig, path)
    plt.close(fig)


def plot_dream(vae, m, frames, actions, path, watch=4, steps=24, every=3):
    """A real rollout (top) and M's dream of it (bottom) under the same actions: M watches
    ``watch`` real steps (to know the paddle's speed), then imagines the rest alone."""
    import matplotlib.pyplot as plt

    encode, decode, memory = make_encoder(vae), make_decoder(vae), make_memory(m)
    steps = min(steps, len(actions) - watch)
    # Start where a fruit is in the top third of the screen (after a catch it is above it).
    start = int(np.argmax(frames[:len(actions) - steps - watch + 1, :12].max(axis=(1, 2)) > 60))
    real = frames[start:start + watch + steps + 1]
    acted = actions[start:start + watch + steps]
    z_real = encode(to_float(real)).numpy()
    h = np.zeros((1, HIDDEN_SIZE), dtype=np.float32)
    for t in range(watch):
        h, z, _ = (x.numpy() for x in memory(z_real[t:t + 1], acted[t:t + 1], h))
    dreamed = [decode(z).numpy()[0]]
    for t in range(watch, watch + steps):
        h, z, _ = (x.numpy() for x in memory(z, acted[t:t + 1], h))
        dreamed.append(decode(z).numpy()[0])
    shown = list(range(0, steps + 1, every))
    fig, axes = plt.subplots(2, len(shown), figsize=(1.6 * len(shown), 4))
    for i, t in enumerate(shown):
        for row, image in enumerate((to_float(real[watch + t])[..., 0], dreamed[t])):
            axes[row, i].imshow(image, cmap="gray", vmin=0, vmax=1)
            axes[row, i].set_xticks([])
            axes[row, i].set_yticks([])
        axes[1, i].set_xlabel(f"{t} 歩先")
    axes[0, 0].set_ylabel("本物 (real)")
    axes[1, 0].set_ylabel("M の夢 (dream)")
    fig.suptitle(f"M の夢: 本物を {watch} 歩見たあと、行動の列だけから先を想像する "
                 "[M dreams ahead under the same actions]")
    common.save_figure(fig, path)
    plt.close(fig)


def plot_controller(curve, collected, world, path):
    """C's catch rate against the real frames it took (in the dream: against epochs)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    check = np.asarray(curve["check_catch"], dtype=float)
    shown = ~np.isnan(check)
    if world == "real":
        x = np.asarray(curve["frames"]) / 1000
        ax.plot(x, curve["population_catch"], color="g", alpha=0.5,
                label="集団の捕球率 (catch rate of the population)")
        ax.set_xlabel("使った本物のフレーム数 [千] (real frames used, thousands; "
                      f"ランダムな行動の {collected:,} を含む)")
        ax.axvline(DQN_FRAMES_TO_90 / 1000, color="r", linestyle=":",
                   label="DQN が 90% に届いたフレーム数 (DQN's frames to 90%, doc/day4.md)")
    else:
        x = np.asarray(curve["epoch"])
        ax.set_xlabel(f"夢の中のエポック (epochs in the dream; 本物のフレームは {collected:,} "
                      "だけ)")
    ax.plot(x[shown], check[shown], "o-", color="b",
            label=f"C の捕球率 ({CHECK_GAMES} ゲーム, C's catch rate)")
    ax.axhline(0.8, color="grey", linestyle="--", linewidth=1, label="目標 80% (target)")
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("捕球率 (catch rate)")
    ax.set_title("C (線形の戦略) を進化戦略で学習 [C learns by the evolution strategy]")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    common.save_figure(fig, path)
    plt.close(fig)


def save_dream_gif(encode, memory, decode, theta, seed, path, steps=150, watch=10):
    """C plays the real game (left); on the right, V's view of it for ``watch`` steps, then
    M's dream from there, with C acting in the dream."""
    _, _, _, _, real = play_real(theta, 1, seed, encode, memory, max_frames=2 * steps,
                                 record=True)
    z = encode(to_float(real)).numpy()
    h = np.zeros((1, HIDDEN_SIZE), dtype=np.float32)
    for t in range(watch):  # M's memory as it was in the real game: C's actions are replayed
        action = controller_actions(theta[None], z[None, t:t + 1], h[None])[0]
        h = memory(z[t:t + 1], action, h)[0].numpy()
    _, codes = dream(theta, z[watch:watch + 1], memory, len(real) - 1 - watch, h0=h)
    seen = np.concatenate([z[:watch], codes[:, 0, 0]])
    dreamed = np.rint(decode(seen).numpy() * 255).astype(np.uint8)
    gap = np.full((len(real), FRAME_SIZE, 2), 128, dtype=np.uint8)
    side = np.concatenate([real, gap, dreamed], axis=2)
    common.save_gif(np.repeat(side[..., None], 3, axis=3), path, fps=15, scale=4)


def play(run_dir, episodes, seed, headless):
    """The trained agent plays Catcher in a window, or into ``play.gif`` when headless."""
    import envs  # noqa: F401  (registers Catcher-v0)

    encode, memory, _, theta = load_agent(run_dir)
    headless = common.play_headless(headless)
    env = gym.make("Catcher-v0", render_mode="rgb_array" if headless else "human")
    screens, rates = [], []
    for episode in range(episodes):
        screen, info = env.reset(seed=seed + episode)
        h, done, total = np.zeros((1, HIDDEN_SIZE), dtype=np.float32), False, 0.0
        while not done:
            z = encode(to_float(preprocess(screen[None]))).numpy()
            action = controller_actions(theta[None], z[None], h[None])[0]
            for _ in range(FRAME_SKIP):
                screen, reward, terminated, truncated, info = env.step(int(action[0]))
                total, done = total + reward, terminated or truncated
                if headless and episode == 0:
                    screens.append(screen)
                if done:
                    break
            if not headless and common.window_closed():
                env.close()
                return rates
            h = memory(z, action, h)[0].numpy()
        rates.append(catch_rate(info))
        print(f"Get reward {total:+.0f} (caught {info['caught']}, missed {info['missed']})")
    env.close()
    if screens:
        common.save_gif(screens[::FRAME_SKIP], Path(run_dir) / "play.gif", fps=15)
    return rates


def newest_run():
    """The newest run folder of this script (any status), or ``None``."""
    runs = sorted(folder for folder in common.output_dir(__file__).glob("*") if folder.is_dir())
    return runs[-1] if runs else None


def even_population(text):
    """``--population``: an even number of at least 2 (members come in mirrored pairs)."""
    value = common.positive_int(text)
    if value < 2 or value % 2:
        raise argparse.ArgumentTypeError(f"must be an even number of 2 or more, got {text}")
    return value


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="World Models on Catcher (Day6): V compresses frames, M learns what comes "
                    "next, C (linear, trained by the evolution strategy) acts on [z, h].")
    add = parser.add_argument
    add("--stage", choices=STAGES, help="run only this stage, again (in --run DIR, or the "
        "newest run; 'collect' alone starts a new run)")
    add("--run", metavar="DIR", help="go on with this run folder: stages that finished are "
        "kept, a stopped one goes on from where it was")
    add("--play", action="store_true", help="let the newest trained agent play, not train")
    add("--headless", action="store_true", help="with --play, no window: write play.gif")
    add("--play-episodes", type=common.positive_int, default=3,
        help="episodes of --play (default: 3)")
    add("--rollouts", type=common.positive_int, default=64,
        help="games of random play collected for V and M (default: 64)")
    add("--rollout-steps", type=common.positive_int, default=150,
        help=f"steps of {FRAME_SKIP} frames in each random game (default: 150)")
    add("--vae-steps", type=common.positive_int, default=2000,
        help="gradient steps of V (default: 2000)")
    add("--m-steps", type=common.positive_int, default=1500,
        help="gradient steps of M (default: 1500)")
    add("--batch", type=common.positive_int, default=64,
        help="frames in a batch of V; M takes half as many windows of 32 steps (default: 64)")
    add("--world", choices=("real", "dream"), default="real",
        help="where C is trained: the real game, or M's dream (default: real)")
    add("--epochs", type=common.positive_int, default=EPOCHS,
        help=f"epochs of the evolution strategy for C (default: {EPOCHS})")
    add("--population", type=even_population, default=POPULATION,
        help=f"members per epoch, in mirrored pairs (default: {POPULATION})")
    add("--games", type=common.positive_int, default=GAMES,
        help=f"games (or dreams) each member plays per epoch (default: {GAMES})")
    add("--train-frames", type=common.positive_int, default=TRAIN_FRAMES,
        help=f"frames a training game lasts at most (default: {TRAIN_FRAMES})")
    add("--dream-steps", type=common.positive_int, default=100,
        help="steps of each dream with --world dream (default: 100)")
    add("--temperature", type=float, default=0.0,
        help="noise added to each dreamed z with --world dream (default: 0)")
    add("--sigma", type=common.positive_float, default=SIGMA,
        help=f"scale of the noise added to C's weights (default: {SIGMA})")
    add("--learning-rate", type=common.positive_float, default=LEARNING_RATE,
        help=f"step size of the evolution strategy (default: {LEARNING_RATE})")
    add("--eval-interval", type=common.positive_int, default=5,
        help=f"epochs between checks of C on {CHECK_GAMES} games (default: 5)")
    add("--eval-games", type=common.positive_int, default=EVALUATION_GAMES,
        help=f"games of the final catch rate (default: {EVALUATION_GAMES})")
    add("--seed", type=common.seed_value, default=0, help="random seed (default: 0)")
    args = parser.parse_args(argv)
    if not 0 <= args.temperature < 10:
        parser.error("argument --temperature: must be from 0 to 10")

    if args.play:
        model = common.find_model(__file__, FILES["C"], model=None if args.run is None else
                                  Path(args.run) / FILES["C"], train_command=TRAIN_COMMAND)
        return play(model.parent, args.play_episodes, args.seed, args.headless)

    if args.run is not None:
        run_dir = Path(args.run)
        if not (run_dir / "stages.json").is_file():
            common.exit_with_error(f"{run_dir} is not a run folder of this script")
    elif args.stage not in (None, "collect"):
        run_dir = newest_run()
        if run_dir is None:
            common.exit_with_error(f"there is no run yet: run `{TRAIN_COMMAND}` first")
    else:
        run_dir = common.new_run_dir(__file__)
        note_stage(run_dir, "seed", seed=args.seed)
    print(f"Run folder: {run_dir}")
    common.set_seed(args.seed)
    records, interrupted = read_stages(run_dir), False
    for stage in [args.stage] if args.stage else STAGES:
        record = records.get(stage, {})
        if args.stage is None and record.get("status") == "finished":
            print(f"ステージ {stage} は前の実行で終わっています。そのまま使います "
                  "(finished before, kept).")
            continue
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            if stage == "collect":
                result = run_collect(run_dir, args)
            elif stage == "V":
                result = run_vae(run_dir, args, record)
            elif stage == "M":
                result = run_m(run_dir, args, record)
            elif stage == "C":
                collected = read_stages(run_dir).get("collect", {}).get("real_frames", 0)
                result = run_controller(run_dir, args, record, collected)
            else:
                result = run_evaluate(run_dir, args)
        except KeyboardInterrupt:
            result = {"status": "interrupted"}
        result.update(wall_seconds=round(time.perf_counter() - wall, 1),
                      cpu_seconds=round(time.process_time() - cpu, 1))
        note_stage(run_dir, stage, **result)
        if result["status"] == "interrupted":
            interrupted = True
            break
    stages = read_stages(run_dir)
    common.finish_training(run_dir, interrupted=interrupted, stages=stages)
    return run_dir, stages


if __name__ == "__main__":
    main()
