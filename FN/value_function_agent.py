"""Day4: a value function approximated by a neural network (scikit-learn), on CartPole.

Day3's Q-learning kept Q[s][a] in a table; CartPole's state is four real numbers, so here
Q(s, ·) is a function: scikit-learn's ``MLPRegressor`` behind a ``StandardScaler``, trained
towards r + γ max_a' Q(s', a') on a batch sampled from the buffer at every step.
``python FN/value_function_agent.py`` trains it; ``--play`` watches the newest run.

Changes from the book:
- saved with skops (data only, loaded with an explicit list of trusted types), not a pickle;
- all targets of a batch at once in NumPy; no bootstrapping only where the pole fell
  (``terminated``), not at the time limit;
- ``estimate`` computes the fitted scaler and network in NumPy (``predict`` checks its input
  on every call, which costs more than the arithmetic for one state);
- CartPole-v1 (up to 500 steps) replaces the retired CartPole-v0.
"""

from pathlib import Path

from common import atomic_path, exit_with_error, new_run_dir, probability

import numpy as np
import skops.io
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

# The book prints CartPoleObserver here; DQN's and A2C's --test use it too, so it is defined
# once, in FN/fn_framework.py.
from FN.fn_framework import (
    CartPoleObserver,
    FNAgent,
    Trainer,
    make_cartpole,
    make_parser,
    play,
    prepare_run,
    stack_experiences,
    watch_render_mode,
)

__all__ = ["CartPoleObserver", "ValueFunctionAgent", "ValueFunctionTrainer", "main"]

TRAIN_COMMAND = "python FN/value_function_agent.py"
FILE_NAME = "value_function_agent.skops"
# What skops may rebuild from a file besides its defaults (scikit-learn's estimators, NumPy
# arrays): the Adam optimizer state inside a trained MLPRegressor. Nothing else is trusted.
TRUSTED_TYPES = ["sklearn.neural_network._stochastic_optimizers.AdamOptimizer"]


class ValueFunctionAgent(FNAgent):
    """ε-greedy on Q(s, ·) given by an ``MLPRegressor`` (two hidden layers of 10 units)."""

    def save(self, model_path):
        """Save the scikit-learn pipeline as a skops file, atomically."""
        with atomic_path(model_path) as temporary:
            skops.io.dump(self.model, temporary)
        return Path(model_path)

    @classmethod
    def load(cls, env, model_path, epsilon=0.0001, *, train_command=TRAIN_COMMAND):
        """The book's ``load``, from a skops file: a file that is not one, holds types this
        agent does not trust, or holds another model than a fitted scaler-and-network pipeline
        for ``env``'s states and actions ends the script with one sentence (exit status 2)."""
        agent = cls(epsilon, list(range(env.action_space.n)))
        fix = f"train one with `{train_command}`"
        if not Path(model_path).is_file():
            exit_with_error(f"there is no model file at {model_path}; {fix}")
        try:
            model = skops.io.load(model_path, trusted=TRUSTED_TYPES)
        except Exception as error:  # not a zip, not a skops file, untrusted types: all refused
            exit_with_error(f"{model_path} cannot be loaded as a skops model "
                            f"({type(error).__name__}); {fix}")
        steps = getattr(model, "named_steps", {})
        scaler, estimator = steps.get("scaler"), steps.get("estimator")
        if not (isinstance(model, Pipeline) and isinstance(scaler, StandardScaler)
                and isinstance(estimator, MLPRegressor) and hasattr(estimator, "coefs_")
                and getattr(scaler, "n_features_in_", None) == env.observation_space.shape[0]
                and estimator.coefs_[-1].shape[1] == len(agent.actions)):
            exit_with_error(f"{model_path} does not hold a trained value function for this "
                            f"environment (a scaler and an MLPRegressor); {fix}")
        agent.model = model
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
    parser.add_argument("--epsilon", type=probability, default=0.1,
                        help="exploration rate ε while training, from 0 to 1 (default 0.1)")
    args = parser.parse_args(argv)
    if args.play:
        return play(args, __file__, ValueFunctionAgent, make_cartpole, suffix=".skops")
    trainer, env = prepare_run(ValueFunctionTrainer(log_dir=new_run_dir(__file__)),
                               make_cartpole(render_mode=watch_render_mode(args.render)), args.seed)
    agent = trainer.train(env, args.episodes, args.epsilon, render=args.render)
    env.close()
    trainer.finish(agent, FILE_NAME, show=not args.no_show)
    return trainer.reward_log


if __name__ == "__main__":
    main()
