"""Day6: model-based RL with Dyna — learn a model of the world and practise inside it.

Deep RL needs a huge number of real experiences (it is sample-inefficient). Dyna attacks that
by learning a *model* of the environment while it acts:

1. act in the real environment and update Q with the real transition (ordinary Q-learning);
2. record the transition in the model (which next state and reward followed which action);
3. replay ``steps_in_model`` imagined transitions drawn from the model and update Q with them
   too. This is planning: it costs computation, not real experience.

With planning, the value of the goal flows back along the path in a handful of episodes,
where plain Q-learning has to walk the path again and again. ``--compare`` makes that
visible: it runs 0, 5 and 50 planning steps over several seeds on the deterministic and the
slippery lake and plots the success rate of the greedy policy against real episodes.

Deviations from the book: gymnasium's ``reset``/``step`` (5-tuple) replace gym's; ties in Q
are broken at random (with a zero-initialised Q, ``argmax`` would always pick "left" and the
agent would hardly ever find the goal on the deterministic lake); the Q-learning target does
not bootstrap from a state where the episode terminated. ``learn`` returns the reward of each
episode and accepts an optional ``callback``, which ``--compare`` uses to measure progress.
"""

import argparse
import random
from collections import Counter, defaultdict

from common import exit_with_error, output_dir, save_figure, set_seed, show_plot

import numpy as np
from joblib import Parallel, delayed
from tqdm import tqdm

from envs.frozen_lake import make_frozen_lake

COMPARE_PLANNING_STEPS = (0, 5, 50)
SUCCESS_THRESHOLD = 0.9


class DynaAgent:
    """Q-learning plus planning with a learned ``Model`` (Dyna-Q)."""

    def __init__(self, epsilon=0.1):
        self.epsilon = epsilon
        self.actions = []
        self.value = None

    def policy(self, state):
        """ε-greedy on Q; among equally good actions pick one at random."""
        if random.random() < self.epsilon:
            return random.randrange(len(self.actions))
        return self.greedy_action(state)

    def greedy_action(self, state):
        values = self.value[state]
        best = max(values)
        return random.choice([a for a, v in enumerate(values) if v == best])

    def update(self, state, action, reward, next_state, gamma, learning_rate, terminated=False):
        """One Q-learning step: move Q(s, a) toward r + γ max_a' Q(s', a')."""
        gain = reward if terminated else reward + gamma * max(self.value[next_state])
        estimated = self.value[state][action]
        self.value[state][action] += learning_rate * (gain - estimated)

    def learn(self, env, episode_count=3000, gamma=0.9, learning_rate=0.1, steps_in_model=-1,
              report_interval=100, callback=None):
        """Learn on ``env``; plan ``steps_in_model`` imagined steps after each real one.

        ``steps_in_model`` ≤ 0 turns planning off (plain Q-learning). Returns the reward of
        every episode (1 when the goal was reached on FrozenLake). ``callback(episode, agent)``
        is called after each episode when given; ``report_interval`` 0 turns the log off.
        """
        self.actions = list(range(env.action_space.n))
        self.value = defaultdict(lambda: [0.0] * len(self.actions))
        model = Model(self.actions)
        rewards = []
        for e in range(episode_count):
            s, _ = env.reset()
            done = False
            goal_reward = 0.0
            while not done:
                a = self.policy(s)
                n_state, reward, terminated, truncated, _ = env.step(a)
                done = terminated or truncated
                # Learn from the real experience, as Q-learning does.
                self.update(s, a, reward, n_state, gamma, learning_rate, terminated)
                if steps_in_model > 0:
                    # Remember it in the model, then practise on imagined experience.
                    # A terminal next state's Q stays 0 (no action is ever taken there), so
                    # bootstrapping from it in the model adds nothing, as it should.
                    model.update(s, a, reward, n_state)
                    for m_s, m_a, m_r, m_n in model.simulate(steps_in_model):
                        self.update(m_s, m_a, m_r, m_n, gamma, learning_rate)
                s = n_state
                goal_reward = reward
            rewards.append(goal_reward)
            if callback is not None:
                callback(e, self)
            if report_interval and e != 0 and e % report_interval == 0:
                recent = np.array(rewards[-report_interval:])
                print(f"At episode {e}, reward is {recent.mean():.3f} (+/- {recent.std():.3f})")
        return rewards

    def q_table(self, n_states):
        """Q as an array of shape (n_states, n_actions) (unvisited states are 0)."""
        return np.array([self.value[s] if s in self.value else [0.0] * len(self.actions)
                         for s in range(n_states)])


class Model:
    """What the agent has learned about the world: counts of (state, action) → next state.

    ``transit`` samples a next state in proportion to how often it followed the action (so a
    slippery lake is modelled as slippery), ``reward`` is the mean reward seen, and
    ``simulate`` draws only (state, action) pairs that have actually been tried: the model
    knows nothing about the others and must not invent them.
    """

    def __init__(self, actions):
        self.num_actions = len(actions)
        self.transit_count = defaultdict(Counter)
        self.total_reward = defaultdict(float)
        self.history = Counter()
        # The seen (state, action) pairs in the order they were first met, for fast sampling.
        self.seen = []

    def update(self, state, action, reward, next_state):
        key = (state, action)
        if key not in self.history:
            self.seen.append(key)
        self.transit_count[key][next_state] += 1
        self.total_reward[key] += reward
        self.history[key] += 1

    def transit(self, state, action):
        counter = self.transit_count[(state, action)]
        if len(counter) == 1:
            return next(iter(counter))
        return random.choices(list(counter), weights=list(counter.values()))[0]

    def reward(self, state, action):
        key = (state, action)
        return self.total_reward[key] / self.history[key]

    def simulate(self, count):
        """Yield ``count`` imagined ``(state, action, reward, next_state)`` from seen pairs."""
        if not self.seen:
            return
        for _ in range(count):
            state, action = random.choice(self.seen)
            yield state, action, self.reward(state, action), self.transit(state, action)


def transition_table(env):
    """The lake's true T(s'|s, a) as an array of shape (S, A, S), from gymnasium's ``P``."""
    lake = env.unwrapped
    n_states, n_actions = env.observation_space.n, env.action_space.n
    transition = np.zeros((n_states, n_actions, n_states))
    for s in range(n_states):
        for a in range(n_actions):
            for prob, next_state, _, _ in lake.P[s][a]:
                transition[s, a, next_state] += prob
    return transition


def success_probability(env, q_table, horizon=100, transition=None):
    """Probability that the greedy policy of ``q_table`` reaches the goal within ``horizon``.

    Computed exactly from the lake's transition table (the agent never sees it: this is only
    the referee). Ties in Q are split evenly, as the agent breaks them at random. Pass
    ``transition`` (from ``transition_table``) to save rebuilding it on every call.
    """
    lake = env.unwrapped
    transition = transition_table(env) if transition is None else transition
    best = q_table >= q_table.max(axis=1, keepdims=True)
    policy = best / best.sum(axis=1, keepdims=True)
    chain = np.einsum("sa,san->sn", policy, transition)
    distribution = np.asarray(lake.initial_state_distrib, dtype=float)
    for _ in range(horizon):
        distribution = distribution @ chain
    goal = np.asarray(lake.desc).ravel() == b"G"
    return float(distribution[goal].sum())


def run_one(steps_in_model, seed, episode_count, slippery, eval_interval):
    """One learning run; returns the greedy success probability every ``eval_interval`` episodes."""
    env = make_frozen_lake(slippery=slippery)
    set_seed(seed, env)
    n_states = env.observation_space.n
    transition = transition_table(env)
    curve = []

    def record(episode, agent):
        if (episode + 1) % eval_interval == 0:
            q_table = agent.q_table(n_states)
            curve.append(success_probability(env, q_table, transition=transition))

    DynaAgent().learn(env, episode_count=episode_count, steps_in_model=steps_in_model,
                      report_interval=0, callback=record)
    env.close()
    return curve


def compare(seeds, episode_count, eval_interval=10, slippery_values=(False, True), n_jobs=-1):
    """Success curves for each lake and planning step count: ``{(slippery, steps): (seeds, T)}``."""
    jobs = [(slippery, steps, seed) for slippery in slippery_values
            for steps in COMPARE_PLANNING_STEPS for seed in seeds]
    runs = Parallel(n_jobs=n_jobs, return_as="generator")(
        delayed(run_one)(steps, seed, episode_count, slippery, eval_interval)
        for slippery, steps, seed in jobs
    )
    curves = list(tqdm(runs, total=len(jobs), desc="Dyna runs"))
    results = defaultdict(list)
    for (slippery, steps, _), curve in zip(jobs, curves):
        results[(slippery, steps)].append(curve)
    return {key: np.array(value) for key, value in results.items()}


def episodes_to_reach(curves, eval_interval, threshold=SUCCESS_THRESHOLD):
    """For each seed (row of ``curves``), the first episode count whose success ≥ ``threshold``.

    Seeds that never get there are ``nan``.
    """
    curves = np.atleast_2d(curves)
    reached = curves >= threshold
    first = (reached.argmax(axis=1) + 1) * eval_interval
    return np.where(reached.any(axis=1), first, np.nan)


def plot_comparison(results, eval_interval, path):
    import matplotlib.pyplot as plt

    lakes = sorted({slippery for slippery, _ in results})
    fig, axes = plt.subplots(1, len(lakes), figsize=(6 * len(lakes), 4.2), squeeze=False)
    for ax, slippery in zip(axes[0], lakes):
        for steps in COMPARE_PLANNING_STEPS:
            curves = results[(slippery, steps)]
            episodes = (np.arange(curves.shape[1]) + 1) * eval_interval
            mean, std = curves.mean(axis=0), curves.std(axis=0)
            label = "Q-learning (no planning)" if steps == 0 else f"Dyna, {steps} planning steps"
            line, = ax.plot(episodes, mean, label=label)
            ax.fill_between(episodes, np.clip(mean - std, 0, 1), np.clip(mean + std, 0, 1),
                            color=line.get_color(), alpha=0.2)
        ax.set_title(f"{'slippery FrozenLake' if slippery else 'FrozenLakeEasy'} "
                     f"({curves.shape[0]} seeds, mean ± std)")
        # A log scale shows the first episodes, where planning makes its difference.
        ax.set_xscale("log")
        ax.set_xlabel("real episodes (log scale)")
        ax.set_ylabel("success rate of the greedy policy")
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(loc="best")
    fig.suptitle("Planning in a learned model saves real experience")
    save_figure(fig, path)
    return fig


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Dyna-Q on FrozenLakeEasy: Q-learning plus planning in a learned model."
    )
    parser.add_argument("--modelstep", type=int, default=-1,
                        help="planning steps in the model after each real step "
                             "(default -1: no planning, plain Q-learning)")
    parser.add_argument("--episodes", type=int, default=None,
                        help="episodes of learning (default 3000; 1000 with --compare)")
    parser.add_argument("--slippery", action="store_true",
                        help="learn on the slippery FrozenLake instead of FrozenLakeEasy")
    parser.add_argument("--compare", action="store_true",
                        help="compare 0, 5 and 50 planning steps over several seeds on both "
                             "lakes and plot the success rate against episodes")
    parser.add_argument("--seeds", type=int, default=5,
                        help="number of seeds for --compare (default 5)")
    parser.add_argument("--eval-interval", type=int, default=10,
                        help="with --compare, measure the greedy policy every N episodes "
                             "(default 10)")
    parser.add_argument("--jobs", type=int, default=-1,
                        help="parallel processes for --compare (default -1: all cores)")
    parser.add_argument("--seed", type=int, default=0,
                        help="random seed (with --compare, the first of the seeds; default 0)")
    parser.add_argument("--no-show", action="store_true", help="do not open a plot window")
    args = parser.parse_args(argv)

    episodes = args.episodes if args.episodes is not None else (1000 if args.compare else 3000)
    if episodes < 1:
        exit_with_error(f"--episodes must be at least 1, got {episodes}")
    if args.seeds < 1:
        exit_with_error(f"--seeds must be at least 1, got {args.seeds}")
    if not 1 <= args.eval_interval <= episodes:
        exit_with_error(f"--eval-interval must be between 1 and the episode count, "
                        f"got {args.eval_interval}")
    if args.jobs == 0:
        exit_with_error("--jobs must not be 0 (use -1 for all cores)")

    if args.compare:
        seeds = list(range(args.seed, args.seed + args.seeds))
        try:
            results = compare(seeds, episodes, args.eval_interval, n_jobs=args.jobs)
        except KeyboardInterrupt:
            print("Interrupted: no comparison to plot.")
            return None
        folder = output_dir(__file__)
        for (slippery, steps), curves in sorted(results.items()):
            reached = episodes_to_reach(curves, args.eval_interval)
            lake = "slippery" if slippery else "easy"
            when = f"never reaches {SUCCESS_THRESHOLD}"
            if not np.isnan(reached).all():
                when = (f"reaches {SUCCESS_THRESHOLD} after {np.nanmean(reached):.0f} episodes "
                        f"on average ({np.isnan(reached).sum()} of {len(reached)} seeds never do)")
            print(f"{lake:>8} lake, {steps:2d} planning steps: mean success "
                  f"{curves[:, -1].mean():.2f} at the end; {when}")
        plot_comparison(results, args.eval_interval, folder / "compare.png")
        show_plot(not args.no_show)
        return results

    env = make_frozen_lake(slippery=args.slippery)
    set_seed(args.seed, env)
    agent = DynaAgent()
    try:
        rewards = agent.learn(env, episode_count=episodes, steps_in_model=args.modelstep)
    except KeyboardInterrupt:
        # Q is kept in the agent: judge what has been learned so far.
        print("Interrupted: keeping what was learned.")
        rewards = None
    success = success_probability(env, agent.q_table(env.observation_space.n))
    print(f"Success rate of the greedy policy: {success:.2f}")
    env.close()
    return rewards


if __name__ == "__main__":
    main()
