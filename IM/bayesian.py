"""Day6: Bayesian inverse RL — the reward as a belief updated by the teacher's actions.

Bayesian IRL (Ramachandran and Amir, 2007) treats the unknown reward R as a random variable:
prior, each cell's reward ~ Normal(``prior_mean``, ``prior_scale``); likelihood, the teacher
picks action a in state s with probability softmax_a(η Q_R(s, a)); posterior ∝ both. As in
the book, R climbs the log posterior along a gradient estimated from random perturbations
(Q_R comes out of a planner and cannot be differentiated): the MAP estimate.

Run: ``python IM/bayesian.py`` (small: ``--epoch 3 --sample-size 4``); as ``IM/maxent.py``.

Changes from the book (measured in doc/day6_im_mm.md): η = 5 and γ = 0.9, not 0.8 and 0.3
(with those the Danger stays near 0 and the plan never reaches the Treasure); 100
demonstrations and 100 epochs, not 20 and 50 (with fewer, the Danger on other mazes often
ends above the median); Q is the plain action value; the likelihood is one vectorized sum.
"""

import argparse

from common import (
    exit_with_error,
    finish_run,
    positive_float,
    positive_int,
    probability,
    set_seed,
    show_plot,
)

import numpy as np
from tqdm import tqdm

from IM.irl_demo import add_demo_arguments, make_env, report, save_results, teacher_demonstrations
from IM.vectorized_planner import PolicyIterationPlanner

# Estimation epochs and demonstrations of a run from the command line.
EPOCH = 100
TRAJECTORIES = 100


class BayesianIRL:
    def __init__(self, env, eta=5.0, prior_mean=0.0, prior_scale=0.5):
        if prior_scale <= 0:
            raise ValueError(f"prior_scale must be positive, got {prior_scale}")
        self.env = env
        self.planner = PolicyIterationPlanner(env)
        self.eta = eta
        self._mean = prior_mean
        self._scale = prior_scale
        self.log_posterior_history = []

    def estimate(self, trajectories, epoch=50, gamma=0.9, learning_rate=0.1, sigma=0.05,
                 sample_size=20):
        """Return the estimated reward of each cell, shaped like the grid."""
        states, actions, count = self._steps(trajectories)
        num_states = self.env.observation_space.n
        reward = np.random.normal(size=num_states, loc=self._mean, scale=self._scale)
        self.log_posterior_history = []

        for _ in tqdm(range(epoch), desc="Bayesian IRL", disable=epoch < 20):
            noises = np.random.randn(sample_size, num_states)
            scores = np.array([self.log_posterior(reward + sigma * noise, states, actions,
                                                  count, gamma)
                               for noise in noises])
            self.log_posterior_history.append(float(scores.mean()))
            if scores.std() == 0:
                continue
            # Perturbations that raised the posterior pull the reward their way.
            normalized = (scores - scores.mean()) / scores.std()
            direction = (noises * normalized[:, np.newaxis]).mean(axis=0)
            reward = reward + learning_rate / (sample_size * sigma) * direction

        return reward.reshape(self.env.shape)

    def q_values(self, reward, gamma):
        """Plan under ``reward`` and return Q(s, a) for every state and action."""
        self.planner.reward_func = lambda s: reward[s]
        V = self.planner.plan(gamma=gamma)
        return self.planner.policy_to_q(V, gamma)

    def log_prior(self, reward):
        """Σ_s log Normal(R(s); prior_mean, prior_scale)."""
        z = (reward - self._mean) / self._scale
        return float(np.sum(-0.5 * z ** 2 - np.log(self._scale * np.sqrt(2 * np.pi))))

    def log_posterior(self, reward, states, actions, count, gamma):
        Q = self.q_values(reward, gamma)
        return self.calculate_likelihood_of_steps(states, actions, count, Q) + \
            self.log_prior(reward)

    def calculate_likelihood(self, trajectories, Q):
        """Mean over trajectories of Σ_t log softmax(η Q(s_t, ·))[a_t]."""
        return self.calculate_likelihood_of_steps(*self._steps(trajectories), Q)

    def calculate_likelihood_of_steps(self, states, actions, count, Q):
        logits = self.eta * Q[states]
        top = logits.max(axis=1)
        log_normalizer = top + np.log(np.exp(logits - top[:, np.newaxis]).sum(axis=1))
        return float((logits[np.arange(len(actions)), actions] - log_normalizer).sum() / count)

    def _steps(self, trajectories):
        """All demonstrated steps as two arrays (states, actions), and the trajectory count."""
        pairs = [(int(s), int(a)) for t in trajectories for s, a in t]
        if not pairs:
            raise ValueError("give at least one demonstrated (state, action) step")
        states, actions = np.array(pairs).T
        if states.min() < 0 or states.max() >= self.env.observation_space.n:
            raise ValueError("states must be state numbers of the environment")
        if actions.min() < 0 or actions.max() >= self.env.action_space.n:
            raise ValueError("actions must be action numbers of the environment")
        return states, actions, len(trajectories)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Bayesian inverse RL: estimate the GridWorld's reward from a teacher's walks."
    )
    add_demo_arguments(parser, epoch=EPOCH, trajectories=TRAJECTORIES)
    parser.add_argument("--eta", type=positive_float, default=5.0,
                        help="how sure we are that the teacher acts well (default 5; the "
                             "book's 0.8)")
    parser.add_argument("--gamma", type=probability, default=0.9,
                        help="discount factor of the inner planning, below 1 (default 0.9; "
                             "the book's 0.3)")
    parser.add_argument("--sample-size", type=positive_int, default=20,
                        help="perturbed rewards scored per epoch, 2 or more (default 20)")
    args = parser.parse_args(argv)
    if args.gamma >= 1.0:
        exit_with_error(f"--gamma must be below 1, got {args.gamma}")
    if args.sample_size < 2:
        exit_with_error(f"--sample-size must be at least 2, got {args.sample_size}")
    env = make_env(args.grid)
    set_seed(args.seed)
    demonstrations = teacher_demonstrations(env, args.trajectories, args.seed)

    print("Estimate reward")
    irl = BayesianIRL(env, eta=args.eta)
    estimated = irl.estimate([list(zip(states, actions)) for states, actions in demonstrations],
                             epoch=args.epoch, gamma=args.gamma, sample_size=args.sample_size)
    print(f"対数事後確率 (log posterior): 始め {irl.log_posterior_history[0]:.2f}、"
          f"終わり {irl.log_posterior_history[-1]:.2f}")
    print(np.array2string(estimated, precision=2, suppress_small=True))
    facts = report(env, estimated, args.gamma)
    run_dir = save_results(__file__, env, estimated, args.gamma, "ベイズ逆強化学習 (Bayesian IRL)",
                           demonstrations)
    finish_run(run_dir, **facts)
    show_plot(not args.no_show)
    return estimated


if __name__ == "__main__":
    main()
