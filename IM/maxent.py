"""Day6: Maximum Entropy inverse RL — which reward makes the teacher's path the natural one?

Inverse RL works backwards: from a teacher's demonstrations it recovers the reward the
teacher was pursuing. MaxEnt IRL models the reward as linear in state features,
R(s) = θ·φ(s) (here φ is one-hot, so θ holds one reward per cell), and adjusts θ until the
behaviour it plans for visits the features as often as the teacher does:

1. the teacher's feature expectation: how often, on average, its trajectories visit each
   feature;
2. plan with the current reward R = θ·φ (Policy Iteration from ``IM/planner.py``);
3. the expected state-visitation frequencies of that plan: start where the teacher started,
   push the state distribution through the policy and the dynamics step by step, and add
   the distributions up over the length of a trajectory;
4. gradient = teacher's expectation − planned expectation; θ += learning_rate × gradient.
   Cells the teacher visits more than the plan does gain reward, the others lose it.

Trajectories are lists of states, each ending where the episode ended. A shorter trajectory
is padded with its last (terminal, absorbing) state up to the longest one, and the planned
visitation keeps its mass on terminal states likewise, so both sides count the same number
of steps. Deviation from the book: its propagation ran for as many steps as there were
trajectories (not the trajectory length) and averaged over the steps; here the horizon is the
trajectory length and the frequencies sum to it, as the gradient requires.
"""

import argparse

from common import exit_with_error, output_dir, save_figure, set_seed, show_plot

import numpy as np
from tqdm import tqdm

from envs.gridworld import DEFAULT_GRID, GridWorld
from IM.planner import PolicyIterationPlanner, ValueIterationPlanner


class MaxEntIRL:
    """Estimate a linear state reward θ·φ(s) from demonstrations (Ziebart et al., 2008)."""

    def __init__(self, env):
        self.env = env
        self.planner = PolicyIterationPlanner(env)
        self.transition = transition_matrix(env)

    def estimate(self, trajectories, epoch=20, learning_rate=0.01, gamma=0.9):
        """Return the estimated reward of each cell, shaped like the grid."""
        trajectories = validate_trajectories(trajectories, self.env.observation_space.n)
        state_features = np.vstack([self.env.state_to_feature(s)
                                    for s in range(self.env.observation_space.n)])
        theta = np.random.uniform(size=state_features.shape[1])
        teacher_features = self.calculate_expected_feature(trajectories) @ state_features

        for _ in tqdm(range(epoch), desc="MaxEnt IRL", disable=epoch < 200):
            rewards = state_features @ theta
            # Plan the best behaviour under the current guess of the reward.
            self.planner.reward_func = lambda s, rewards=rewards: rewards[s]
            self.planner.plan(gamma=gamma)
            visitation = self.expected_features_under_policy(self.planner.policy, trajectories)
            # Raise the reward of features the teacher visits more often than the plan does.
            theta += learning_rate * (teacher_features - visitation @ state_features)

        return (state_features @ theta).reshape(self.env.shape)

    def calculate_expected_feature(self, trajectories):
        """The teacher's visit count of each state, averaged over trajectories (padded)."""
        horizon = max(len(t) for t in trajectories)
        counts = np.zeros(self.env.observation_space.n)
        for t in trajectories:
            np.add.at(counts, np.asarray(t), 1)
            counts[t[-1]] += horizon - len(t)
        return counts / len(trajectories)

    def expected_features_under_policy(self, policy, trajectories):
        """Expected visit count of each state under ``policy`` (S, A), over the horizon.

        The distribution starts as the trajectories' first states and is pushed through
        P_π(s'|s) = Σ_a π(a|s) T(s'|s, a) once per step; the sum over the horizon's steps is
        returned, so it adds up to the trajectory length.
        """
        horizon = max(len(t) for t in trajectories)
        n_states = self.env.observation_space.n
        distribution = np.bincount([t[0] for t in trajectories], minlength=n_states)
        distribution = distribution / len(trajectories)
        chain = np.einsum("sa,san->sn", policy, self.transition)
        visitation = np.zeros(n_states)
        for _ in range(horizon):
            visitation += distribution
            distribution = distribution @ chain
        return visitation


def transition_matrix(env):
    """T(s'|s, a) as an (S, A, S) array from the environment's ``P`` table (terminals absorb)."""
    n_states, n_actions = env.observation_space.n, env.action_space.n
    transition = np.zeros((n_states, n_actions, n_states))
    for s in range(n_states):
        for a in range(n_actions):
            for prob, next_state, _, _ in env.P[s][a]:
                transition[s, a, next_state] += prob
    return transition


def validate_trajectories(trajectories, n_states):
    """Trajectories as lists of valid state numbers; a clear ``ValueError`` otherwise."""
    trajectories = [list(map(int, t)) for t in trajectories]
    if not trajectories or any(len(t) == 0 for t in trajectories):
        raise ValueError("give at least one trajectory, and no empty ones")
    if any(not 0 <= s < n_states for t in trajectories for s in t):
        raise ValueError(f"states must be numbers from 0 to {n_states - 1}")
    return trajectories


def demonstrate(env, teacher, count=20, max_steps=100):
    """Let the teacher play ``count`` episodes; returns ``(states, actions)`` per episode.

    ``states`` runs from the start to the state where the episode ended (one longer than
    ``actions``). MaxEnt IRL reads the states, Bayesian IRL the (state, action) pairs.
    """
    demonstrations = []
    for _ in range(count):
        s, _ = env.reset()
        states, actions = [s], []
        for _ in range(max_steps):
            a = teacher.act(s)
            s, _, terminated, truncated, _ = env.step(a)
            states.append(s)
            actions.append(a)
            if terminated or truncated:
                break
        demonstrations.append((states, actions))
    return demonstrations


def plot_rewards(env, true_reward, estimated, title, path):
    """The true and the estimated reward side by side as heatmaps."""
    import matplotlib.pyplot as plt

    rows, columns = env.shape
    fig, axes = plt.subplots(1, 2, figsize=(2 * (1.1 * columns + 1.2), 1.1 * rows + 1))
    env.plot_on_grid(true_reward, ax=axes[0], title="true reward")
    env.plot_on_grid(estimated, ax=axes[1], title="estimated reward")
    fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, path)
    return fig


def add_demo_arguments(parser, epoch, trajectories=20):
    """The options shared by the MaxEnt and Bayesian IRL demos."""
    parser.add_argument("--epoch", type=int, default=epoch,
                        help=f"estimation epochs (default {epoch})")
    parser.add_argument("--trajectories", type=int, default=trajectories,
                        help=f"demonstrations the teacher gives (default {trajectories})")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--no-show", action="store_true", help="do not open a plot window")


def prepare_demo(args):
    """Check the shared options, then: the book's 4x4 grid, a planned teacher, its demos."""
    if args.epoch < 1:
        exit_with_error(f"--epoch must be at least 1, got {args.epoch}")
    if args.trajectories < 1:
        exit_with_error(f"--trajectories must be at least 1, got {args.trajectories}")
    env = GridWorld(DEFAULT_GRID)
    set_seed(args.seed, env)
    # 1. The teacher knows the true reward and plans with it.
    teacher = ValueIterationPlanner(env)
    teacher.plan()
    # 2. It shows how it walks.
    print(f"Gather {args.trajectories} demonstrations")
    return env, demonstrate(env, teacher, args.trajectories)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="MaxEnt inverse RL: estimate the GridWorld's reward from a teacher's walks."
    )
    add_demo_arguments(parser, epoch=100)
    parser.add_argument("--learning-rate", type=float, default=0.01,
                        help="step size of the reward update (default 0.01)")
    parser.add_argument("--gamma", type=float, default=0.9,
                        help="discount factor of the inner planning (default 0.9)")
    args = parser.parse_args(argv)
    if not 0.0 <= args.gamma < 1.0:
        exit_with_error(f"--gamma must be in [0, 1), got {args.gamma}")
    env, demonstrations = prepare_demo(args)

    # 3. Estimate the reward the teacher was following.
    print("Estimate reward")
    irl = MaxEntIRL(env)
    estimated = irl.estimate([states for states, _ in demonstrations], epoch=args.epoch,
                             learning_rate=args.learning_rate, gamma=args.gamma)
    print(np.array2string(estimated, precision=2, suppress_small=True))
    true_reward = env.mdp.reward.reshape(env.shape)
    plot_rewards(env, true_reward, estimated, "MaxEnt IRL",
                 output_dir(__file__) / "rewards.png")
    show_plot(not args.no_show)
    return estimated


if __name__ == "__main__":
    main()
