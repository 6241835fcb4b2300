"""Day4: a value function approximated by a neural network (scikit-learn), on CartPole.

Day3's Q-learning kept Q[s][a] in a table. CartPole's state is four real numbers, so no table
can list them: here Q(s, ·) is a function, a small multilayer perceptron that takes the state
and outputs one value per action. It learns like Q-learning does, towards the target
r + γ max_a' Q(s', a'), with a batch of experiences sampled from a buffer at every step.

The network is scikit-learn's ``MLPRegressor`` behind a ``StandardScaler`` in a ``Pipeline``
(the scaler is fitted once, on the first buffer of random play). ``partial_fit`` takes one
gradient step per call.

Changes from the book:

- scikit-learn no longer bundles its own copy of joblib; ``joblib`` is imported directly. The
  model is saved with joblib (a pickle), because scikit-learn models have no other format: load
  only files you made yourself.
- The update computes all targets at once with NumPy instead of a Python loop, and stops
  bootstrapping only when the pole really fell (``e.d`` is gymnasium's ``terminated``), not at
  the time limit.
- CartPole-v1 (episodes of up to 500 steps) replaces the retired CartPole-v0 (200 steps).
- ``estimate`` evaluates the fitted scaler and network in NumPy: scikit-learn's ``predict``
  checks its input on every call, which costs more than the arithmetic for a single state.
"""

from common import atomic_path, output_dir, set_seed

import gymnasium as gym
import joblib
import numpy as np
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from FN.fn_framework import (
    FNAgent,
    Observer,
    Trainer,
    check_positive,
    finish_training,
    make_parser,
    require_model_file,
    stack_experiences,
    watch_render_mode,
)


class ValueFunctionAgent(FNAgent):
    """ε-greedy on Q(s, ·) given by an ``MLPRegressor`` (two hidden layers of 10 units)."""

    def save(self, model_path):
        """Save the scikit-learn pipeline with joblib (a pickle), atomically."""
        with atomic_path(model_path) as temporary:
            joblib.dump(self.model, temporary)
        return model_path

    @classmethod
    def load(cls, env, model_path, epsilon=0.0001):
        actions = list(range(env.action_space.n))
        agent = cls(epsilon, actions)
        agent.model = joblib.load(model_path)
        agent.initialized = True
        return agent

    def initialize(self, experiences):
        scaler = StandardScaler()
        estimator = MLPRegressor(hidden_layer_sizes=(10, 10), max_iter=1)
        self.model = Pipeline([("scaler", scaler), ("estimator", estimator)])
        states = np.vstack([e.s for e in experiences])
        self.model.named_steps["scaler"].fit(states)
        # One tiny fit so that the network exists (its weights are drawn now).
        self.update([experiences[0]], gamma=0)
        self.initialized = True
        print("Done initialization. From now, begin training!")

    def _predict(self, states):
        states = np.atleast_2d(np.asarray(states, dtype=np.float64))
        estimator = None if self.model is None else self.model.named_steps["estimator"]
        if estimator is None or not hasattr(estimator, "coefs_"):
            # Before the first fit the network has no weights: random values, as in the book.
            return np.random.uniform(size=(len(states), len(self.actions)))
        scaler = self.model.named_steps["scaler"]
        x = (states - scaler.mean_) / scaler.scale_
        last = len(estimator.coefs_) - 1
        for i, (weights, bias) in enumerate(zip(estimator.coefs_, estimator.intercepts_)):
            x = x @ weights + bias
            if i < last:
                x = np.maximum(x, 0.0)  # MLPRegressor's default activation is ReLU
        return x

    def estimate(self, s):
        return self._predict(s)[0]

    def update(self, experiences, gamma):
        batch = stack_experiences(experiences)
        states = batch.s.reshape(len(batch.s), -1)
        next_states = batch.n_s.reshape(len(batch.n_s), -1)
        estimateds = self._predict(states)
        future = self._predict(next_states)
        # Q-learning target for the action taken; the other actions keep their estimates.
        targets = batch.r + gamma * (1 - batch.d) * future.max(axis=1)
        estimateds[np.arange(len(states)), batch.a.astype(int)] = targets
        scaled = self.model.named_steps["scaler"].transform(states)
        estimator = self.model.named_steps["estimator"]
        estimator.partial_fit(scaled, estimateds)
        return float(getattr(estimator, "loss_", np.nan))


class CartPoleObserver(Observer):
    """CartPole's observation is already the state: four floats (position, velocity, angle,
    angular velocity). The book reshaped it to (1, 4); here it keeps its shape (4,)."""

    def transform(self, state):
        return np.asarray(state, dtype=np.float32)


def make_cartpole(num_envs=None, render_mode=None):
    """CartPole-v1 behind ``CartPoleObserver``; ``num_envs`` gives a batch of environments.

    The batch is gymnasium's NumPy-vectorized CartPole, which steps all of them in one
    expression. It cannot open a window, so with ``render_mode="human"`` the batch is made of
    ordinary environments instead, the first of which draws itself.
    """
    if num_envs is None:
        return CartPoleObserver(gym.make("CartPole-v1", render_mode=render_mode))
    if render_mode == "human":
        makers = [lambda i=i: gym.make("CartPole-v1", render_mode="human" if i == 0 else None)
                  for i in range(num_envs)]
        return CartPoleObserver(gym.vector.SyncVectorEnv(makers))
    return CartPoleObserver(gym.make_vec("CartPole-v1", num_envs=num_envs,
                                         vectorization_mode="vector_entry_point"))


class ValueFunctionTrainer(Trainer):

    def train(self, env, episode_count=220, epsilon=0.1, initial_count=-1, render=False):
        actions = list(range(env.action_space.n))
        agent = ValueFunctionAgent(epsilon, actions)
        self.train_loop(env, agent, episode_count, initial_count, render)
        return agent

    def begin_train(self, episode, agent):
        agent.initialize(self.experiences)

    def episode_begin(self, episode, agent):
        self.losses = []

    def step(self, episode, step_count, agent, experience):
        if self.training:
            indices = np.random.randint(len(self.experiences), size=self.batch_size)
            batch = [self.experiences[i] for i in indices]
            self.losses.append(agent.update(batch, self.gamma))

    def episode_end(self, episode, step_count, agent):
        self.report(episode)
        if self.losses:
            # MLPRegressor's loss is half the mean squared error to the targets.
            self.logger.write(self.total_steps, "losses/td_loss", np.mean(self.losses))


def main(argv=None):
    parser = make_parser("Train a Q-function approximated by scikit-learn's MLPRegressor "
                         "on CartPole-v1 (or watch a trained one).", episodes=220)
    parser.add_argument("--epsilon", type=float, default=0.1,
                        help="exploration rate ε while training (default 0.1)")
    args = parser.parse_args(argv)
    check_positive("--episodes", args.episodes)
    path = output_dir(__file__) / "value_function_agent.pkl"
    env = make_cartpole(render_mode=watch_render_mode() if args.play or args.render else None)
    set_seed(args.seed, env.env)
    if args.play:
        require_model_file(path, "python FN/value_function_agent.py")
        agent = ValueFunctionAgent.load(env, path)
        rewards = agent.play(env, episode_count=5, render=True)
        env.close()
        return rewards
    trainer = ValueFunctionTrainer()
    agent = trainer.train(env, episode_count=args.episodes, epsilon=args.epsilon,
                          render=args.render)
    env.close()
    finish_training(trainer, agent, path, show=not args.no_show)
    return trainer.reward_log


if __name__ == "__main__":
    main()
