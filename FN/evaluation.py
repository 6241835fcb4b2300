"""Day5: evaluating the greedy policy while training, and keeping the best weights.

The return of a training episode mixes learning with exploration (ε-greedy, or actions drawn
from the policy), and a deep RL run often gets worse again after its best moment: Day5's point
that one long run must never be wasted. So a trainer can play a few episodes with the greedy
policy every so many environment steps (``Trainer.set_evaluation``), write the score to
TensorBoard, keep the weights of the best evaluation, and stop at a target. This is an
addition to the book, whose trainers kept the model of the best training episode instead.

- ``evaluate(agent, env, episode_count, seed)`` returns the greedy returns of some episodes;
- ``PeriodicEvaluation`` holds the schedule, the scores and the best weights of one run.
"""

import time

import numpy as np
from tqdm import tqdm


def evaluate(agent, env, episode_count=20, seed=None):
    """Returns of ``episode_count`` episodes played greedily (no exploration, no learning).

    ``env`` is an ``Observer``. Over a vector environment all sub-environments play at once and
    only each one's first episode counts (gymnasium resets a finished sub-environment on the next
    step); ``episode_count`` must then be a multiple of the number of sub-environments.
    """
    if env.is_vector:
        n = env.num_envs
        if episode_count % n:
            raise ValueError(f"episode_count {episode_count} is not a multiple of {n} envs")
        returns = []
        for round_index in range(episode_count // n):
            states = env.reset(seed=None if seed is None else seed + round_index)
            total = np.zeros(n)
            alive = np.ones(n, dtype=bool)
            while alive.any():
                states, rewards, dones, _ = env.step(agent.greedy_actions(states))
                total += np.where(alive, rewards, 0.0)
                alive &= ~np.asarray(dones, dtype=bool)
            returns.extend(total.tolist())
        return np.array(returns)
    returns = []
    for episode in range(episode_count):
        s = env.reset(seed=None if seed is None else seed + episode)
        done = False
        total = 0.0
        while not done:
            action = agent.greedy_actions(np.asarray(s)[np.newaxis])[0]
            s, reward, done, _ = env.step(action)
            total += float(reward)
        returns.append(total)
    return np.array(returns)


class PeriodicEvaluation:
    """Evaluate the greedy policy on ``env`` every ``interval`` environment steps.

    With ``target``, ``reached`` turns True once a score reaches it. With ``keep_best``, the
    weights of the best evaluation are kept, and ``restore_best`` puts them back into the model.
    ``metric(agent, env, episode_count, seed)`` replaces the mean return by another score
    (Catcher's catch rate), written to TensorBoard as ``charts/eval_<metric_name>``.

    ``results`` lists ``(steps, score)``; ``times`` the training seconds at each; ``seconds``
    adds up the time the evaluations took, which the trainer leaves out of its training time.
    """

    def __init__(self, env, interval, episode_count=20, target=None, keep_best=True,
                 seed=10_000, metric=None, metric_name="return"):
        self.env = env
        self.interval = int(interval)
        self.episode_count = episode_count
        self.target = target
        self.keep_best = keep_best
        self.seed = seed
        self.metric = metric
        self.metric_name = metric_name
        self.reset()

    def reset(self):
        """Forget the scores and weights of an earlier run."""
        self.next_at = self.interval
        self.best = -np.inf
        self.best_weights = None
        self.solved_at = None
        self.results = []
        self.times = []
        self.seconds = 0.0

    @property
    def reached(self):
        return self.solved_at is not None

    def __call__(self, agent, steps, training_seconds, logger):
        """Evaluate when ``steps`` has passed the next due point; return the score or None."""
        if steps < self.next_at or not agent.initialized:
            return None
        while self.next_at <= steps:
            self.next_at += self.interval
        seed = self.seed + len(self.results) * self.episode_count
        started = time.perf_counter()
        if self.metric is None:
            score = float(np.mean(evaluate(agent, self.env, self.episode_count, seed=seed)))
        else:
            score = float(self.metric(agent, self.env, self.episode_count, seed))
        self.seconds += time.perf_counter() - started
        self.results.append((steps, score))
        self.times.append(training_seconds)
        logger.write(steps, f"charts/eval_{self.metric_name}", score)
        if score > self.best:
            self.best = score
            if self.keep_best:
                self.best_weights = agent.model.get_weights()
        if self.target is not None and score >= self.target and not self.reached:
            self.solved_at = steps
            tqdm.write(f"At step {steps}, the evaluation reached {score:.4g} "
                       f"(target {self.target}): training stops.")
        return score

    def restore_best(self, agent):
        """Give the model back the weights of its best evaluation (if any were kept)."""
        if self.best_weights is None:
            return
        agent.model.set_weights(self.best_weights)
        agent.refresh_forward()
        tqdm.write(f"Kept the weights of the best evaluation ({self.best:.4g}).")
