"""Day6: Maximum Entropy inverse RL — which reward makes the teacher's walks the natural ones?

MaxEnt IRL models the reward as linear in state features, R(s) = θ·φ(s) (φ one-hot: one θ per
cell), and moves θ until the behaviour planned under R visits every feature as often as the
teacher's demonstrations do (``estimate`` holds the whole gradient).

Run: ``python IM/maxent.py`` (small: ``--epoch 5``; ``--grid FILE``: a maze of the Day2
simulator). It prints the estimate and the checks of ``IM/irl_demo.py``, draws the true and
estimated reward with their policies, and writes ``estimated_reward.csv``.

Changes from the book (measured in doc/day6_im_mm.md): the plan's visits add up over a
trajectory's length (the book averaged one step a trajectory); θ starts at 0, not at random;
the learning rate is 0.1, not 0.01 (the same plans, scaled); 100 demonstrations, not 20 (with
20, slips into the Danger outweigh the evidence on other mazes); plans come from
``IM/vectorized_planner.py``, the fast twin of ``IM/planner.py``.
"""

import argparse

from common import exit_with_error, finish_run, positive_float, probability, set_seed, show_plot

import numpy as np
from tqdm import tqdm

from envs.frozen_lake import transition_table
from IM.irl_demo import add_demo_arguments, make_env, report, save_results, teacher_demonstrations
from IM.vectorized_planner import PolicyIterationPlanner

# Estimation epochs and demonstrations of a run from the command line.
EPOCH = 100
TRAJECTORIES = 100


class MaxEntIRL:
    """Estimate a linear state reward θ·φ(s) from demonstrations (Ziebart et al., 2008)."""

    def __init__(self, env):
        self.env = env
        self.planner = PolicyIterationPlanner(env)
        # T(s'|s, a) from the GridWorldEnv's ``P`` (the same reader as the lake's referee).
        self.transition = transition_table(env)

    def estimate(self, trajectories, epoch=20, learning_rate=0.1, gamma=0.9):
        """Return the estimated reward of each cell, shaped like the grid."""
        trajectories = validate_trajectories(trajectories, self.env.observation_space.n)
        state_features = np.vstack([self.env.state_to_feature(s)
                                    for s in range(self.env.observation_space.n)])
        theta = np.zeros(state_features.shape[1])
        # 1. How often, on average, the teacher's trajectories visit each feature.
        teacher_features = self.calculate_expected_feature(trajectories) @ state_features

        for _ in tqdm(range(epoch), desc="MaxEnt IRL", disable=epoch < 200):
            # 2. Plan the best behaviour under the current guess of the reward R = θ·φ.
            rewards = state_features @ theta
            self.planner.reward_func = lambda s, rewards=rewards: rewards[s]
            self.planner.plan(gamma=gamma)
            # 3. How often that plan is expected to visit each feature, from the same starts.
            visitation = self.expected_features_under_policy(self.planner.policy, trajectories)
            # 4. The gradient: teacher's counts − plan's counts. Features the teacher visits
            # more often than the plan does gain reward, the others lose it.
            theta += learning_rate * (teacher_features - visitation @ state_features)

        return (state_features @ theta).reshape(self.env.shape)

    def calculate_expected_feature(self, trajectories):
        """The teacher's visit count of each state, averaged over trajectories."""
        counts = np.zeros(self.env.observation_space.n)
        for t in trajectories:
            np.add.at(counts, np.asarray(t), 1)
        return counts / len(trajectories)

    def expected_features_under_policy(self, policy, trajectories):
        """Expected visit count of each state under ``policy`` (S, A), over the horizon.

        The distribution starts as the trajectories' first states and is pushed through
        P_π(s'|s) = Σ_a π(a|s) T(s'|s, a) once per step, for the longest trajectory's length.
        Arriving at an end cell counts once; then that mass leaves (the episode is over).
        """
        horizon = max(len(t) for t in trajectories)
        n_states = self.env.observation_space.n
        distribution = np.bincount([t[0] for t in trajectories], minlength=n_states)
        distribution = distribution / len(trajectories)
        chain = np.einsum("sa,san->sn", policy, self.transition)
        chain[self.env.mdp.terminal] = 0.0
        visitation = np.zeros(n_states)
        for _ in range(horizon):
            visitation += distribution
            distribution = distribution @ chain
        return visitation


def validate_trajectories(trajectories, n_states):
    """Trajectories as lists of valid state numbers; a clear ``ValueError`` otherwise."""
    trajectories = [list(map(int, t)) for t in trajectories]
    if not trajectories or any(len(t) == 0 for t in trajectories):
        raise ValueError("give at least one trajectory, and no empty ones")
    if any(not 0 <= s < n_states for t in trajectories for s in t):
        raise ValueError(f"states must be numbers from 0 to {n_states - 1}")
    return trajectories


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="MaxEnt inverse RL: estimate the GridWorld's reward from a teacher's walks."
    )
    add_demo_arguments(parser, epoch=EPOCH, trajectories=TRAJECTORIES)
    parser.add_argument("--learning-rate", type=positive_float, default=0.1,
                        help="step size of the reward update (default 0.1; the book's 0.01)")
    parser.add_argument("--gamma", type=probability, default=0.9,
                        help="discount factor of the inner planning, below 1 (default 0.9)")
    args = parser.parse_args(argv)
    if args.gamma >= 1.0:
        exit_with_error(f"--gamma must be below 1, got {args.gamma}")
    env = make_env(args.grid)
    set_seed(args.seed)
    demonstrations = teacher_demonstrations(env, args.trajectories, args.seed)

    # Estimate the reward the teacher was following.
    print("Estimate reward")
    irl = MaxEntIRL(env)
    estimated = irl.estimate([states for states, _ in demonstrations], epoch=args.epoch,
                             learning_rate=args.learning_rate, gamma=args.gamma)
    print(np.array2string(estimated, precision=2, suppress_small=True))
    facts = report(env, estimated, args.gamma)
    run_dir = save_results(__file__, env, estimated, args.gamma,
                           "最大エントロピー逆強化学習 (MaxEnt IRL)", demonstrations)
    finish_run(run_dir, **facts)
    show_plot(not args.no_show)
    return estimated


if __name__ == "__main__":
    main()
