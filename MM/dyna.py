"""Day6: model-based RL with Dyna — learn a model of the world and practise inside it.

Deep RL needs a huge number of real experiences (it is sample-inefficient). Dyna attacks that
by learning a *model* of the environment while it acts:

1. act in the real environment and update Q with the real transition (ordinary Q-learning);
2. record the transition in the model (which next state and reward followed which action);
3. replay ``steps_in_model`` imagined transitions drawn from the model and update Q with them
   too. This is planning: it costs computation, not real experience.

With planning, the value of the goal flows back along the path as soon as the goal has been
found once, where plain Q-learning has to walk the path again and again. A run shows it:
``python MM/dyna.py`` learns with 50 planning steps and, with the same seed, without any, and
prints after how many real episodes each one's greedy policy reaches the goal 90% of the
time. It saves both reward curves (PNG and CSV) in a run folder of its own.
``--compare`` runs 0, 5 and 50 planning steps over several seeds on the deterministic and the
slippery lake and plots the success rate against real episodes, with bands.

Deviations from the book:

- ``--modelstep`` defaults to 50, not -1 (no planning), so that the default run shows what
  Dyna is for; ``--modelstep 0`` is plain Q-learning (the book's -1 is refused, as every
  count here is checked: 0 or more).
- The success rate is measured exactly from the lake's transition table (the referee in
  ``envs/frozen_lake.py``), not by playing noisy test episodes.
- gymnasium's ``reset``/``step`` (5-tuple) replace gym's. The Q-learning target does not
  bootstrap where the episode *terminated* (a hole or the goal), but does where it was only
  *truncated* by the time limit: the world goes on there, the episode just stopped.
- Ties in Q are broken at random (with a zero-initialised Q, ``argmax`` would always pick
  "left" and the agent would hardly ever find the goal on the deterministic lake).
- ``learn`` returns the reward of each episode and accepts an optional ``callback``.
"""

import argparse
import random
from collections import Counter, defaultdict

from common import (
    atomic_path,
    exit_with_error,
    finish_run,
    new_run_dir,
    non_negative_int,
    positive_int,
    save_figure,
    seed_value,
    set_seed,
    show_plot,
)

import numpy as np
from joblib import Parallel, delayed
from tqdm import tqdm

from envs.frozen_lake import make_frozen_lake, success_probability, transition_table

COMPARE_PLANNING_STEPS = (0, 5, 50)
DEFAULT_PLANNING_STEPS = 50
SUCCESS_THRESHOLD = 0.9
# Axis labels of the figures.
REAL_EPISODES = "本物の環境でのエピソード数 (real episodes, 対数目盛)"
SUCCESS_RATE = "greedy な戦略の成功率 (success rate)"


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
        every episode (1 when the goal was reached on FrozenLake). ``callback(episode, agent,
        reward)`` is called after each episode when given; ``report_interval`` 0 turns the log
        off.
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
                # Learn from the real experience, as Q-learning does. Only ``terminated``
                # stops the bootstrap: a truncated episode's next state still has a future.
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
                callback(e, self, goal_reward)
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
        # ``actions`` is taken as in the book's ``World(actions)``; counters need no size.
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


def run_one(steps_in_model, seed, episode_count, slippery, eval_interval, report_interval=0):
    """One learning run: ``(rewards, success, interrupted)``.

    ``rewards`` holds each episode's reward; ``success`` the greedy policy's exact success
    probability after every ``eval_interval`` episodes. Ctrl-C ends the run early and keeps
    both curves so far (``interrupted`` is then True).
    """
    env = make_frozen_lake(slippery=slippery)
    set_seed(seed, env)
    n_states = env.observation_space.n
    transition = transition_table(env)
    rewards, success = [], []

    def record(episode, agent, reward):
        rewards.append(reward)
        if (episode + 1) % eval_interval == 0:
            q_table = agent.q_table(n_states)
            success.append(success_probability(env, q_table, transition=transition))

    interrupted = False
    try:
        DynaAgent().learn(env, episode_count=episode_count, steps_in_model=steps_in_model,
                          report_interval=report_interval, callback=record)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        env.close()
    return np.array(rewards[:len(success) * eval_interval]), np.array(success), interrupted


def compare(seeds, episode_count, eval_interval=10, slippery_values=(False, True), n_jobs=-1):
    """Success curves for each lake and planning step count: ``{(slippery, steps): (seeds, T)}``."""
    jobs = [(slippery, steps, seed) for slippery in slippery_values
            for steps in COMPARE_PLANNING_STEPS for seed in seeds]
    runs = Parallel(n_jobs=n_jobs, return_as="generator")(
        delayed(run_one)(steps, seed, episode_count, slippery, eval_interval)
        for slippery, steps, seed in jobs
    )
    curves = [success for _, success, _ in tqdm(runs, total=len(jobs), desc="Dyna runs")]
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


def describe_reach(episodes):
    """``episodes`` to the threshold as words: "after 17 episodes", or "not within the run"."""
    if np.isnan(episodes):
        return f"does not reach {SUCCESS_THRESHOLD} within the run"
    return f"reaches {SUCCESS_THRESHOLD} after {int(episodes)} episodes"


def lake_name(slippery):
    return "滑る FrozenLake (slippery)" if slippery else "滑らない FrozenLakeEasy"


def planning_label(steps):
    """The legend of a planning step count: plain Q-learning for 0."""
    if steps == 0:
        return "Q-learning (プランニングなし, no planning)"
    return f"Dyna (プランニング {steps} ステップ, {steps} planning steps)"


def run_label(label):
    """The legend of a run of ``run_single``, whose label names its planning steps."""
    if label.startswith("Q-learning"):
        return planning_label(0)
    return planning_label(int(label.split("(")[1].split()[0]))


def plot_comparison(results, eval_interval, path):
    import matplotlib.pyplot as plt

    lakes = sorted({slippery for slippery, _ in results})
    fig, axes = plt.subplots(1, len(lakes), figsize=(6 * len(lakes), 4.2), squeeze=False)
    for ax, slippery in zip(axes[0], lakes):
        for steps in COMPARE_PLANNING_STEPS:
            curves = results[(slippery, steps)]
            episodes = (np.arange(curves.shape[1]) + 1) * eval_interval
            mean, std = curves.mean(axis=0), curves.std(axis=0)
            line, = ax.plot(episodes, mean, label=planning_label(steps))
            ax.fill_between(episodes, np.clip(mean - std, 0, 1), np.clip(mean + std, 0, 1),
                            color=line.get_color(), alpha=0.2)
        ax.set_title(f"{lake_name(slippery)} ({curves.shape[0]} シードの平均 ± 標準偏差)")
        # A log scale shows the first episodes, where planning makes its difference.
        ax.set_xscale("log")
        ax.set_xlabel(REAL_EPISODES)
        ax.set_ylabel(SUCCESS_RATE)
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(loc="best")
    fig.suptitle("学習したモデルの中で練習すると、本物の経験が少なくて済む "
                 "(planning saves real experience)")
    save_figure(fig, path)
    return fig


def plot_run(runs, path, title, window=10):
    """One run against plain Q-learning: episode rewards (moving mean) and greedy success.

    ``runs`` maps a label to ``(rewards, success)`` with success measured after each episode.
    """
    import matplotlib.pyplot as plt

    fig, (reward_ax, success_ax) = plt.subplots(1, 2, figsize=(12, 4.2))
    for label, (rewards, success) in runs.items():
        episodes = np.arange(1, len(rewards) + 1)
        # The reward of one episode is 0 or 1; the mean of the last ``window`` reads better.
        totals = np.concatenate([[0.0], np.cumsum(rewards)])
        first = np.maximum(episodes - window, 0)
        moving = (totals[episodes] - totals[first]) / (episodes - first)
        line, = reward_ax.plot(episodes, moving, label=run_label(label))
        success_ax.plot(episodes, success, color=line.get_color(), label=run_label(label))
        reached = episodes_to_reach(success, 1)[0]
        if not np.isnan(reached):
            success_ax.axvline(reached, color=line.get_color(), linestyle=":", linewidth=1)
    reward_ax.set_title(f"エピソードの報酬 (直近 {window} エピソードの移動平均)")
    reward_ax.set_ylabel(f"報酬の移動平均 (mean reward of the last {window})")
    success_ax.set_title("greedy な戦略の成功率 (遷移表から正確に計算)")
    success_ax.set_ylabel(SUCCESS_RATE)
    success_ax.axhline(SUCCESS_THRESHOLD, color="grey", linestyle="--", linewidth=1,
                       label=f"目標 {SUCCESS_THRESHOLD}")
    for ax in (reward_ax, success_ax):
        ax.set_xscale("log")
        ax.set_xlabel(REAL_EPISODES)
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(loc="best")
    fig.suptitle(title)
    save_figure(fig, path)
    return fig


def save_run_csv(runs, path):
    """The curves of ``plot_run`` as CSV: episode, then reward and success for each run."""
    labels = list(runs)
    length = max(len(rewards) for rewards, _ in runs.values())
    header = ["episode"] + [f"{label}_{kind}" for label in labels
                            for kind in ("reward", "success")]
    lines = [",".join(header)]
    for e in range(length):
        row = [str(e + 1)]
        for label in labels:
            rewards, success = runs[label]
            row += [f"{rewards[e]:g}", f"{success[e]:.6f}"] if e < len(rewards) else ["", ""]
        lines.append(",".join(row))
    with atomic_path(path) as temporary:
        temporary.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"Saved {path}")
    return path


def run_comparison(args, episodes):
    seeds = list(range(args.seed, args.seed + args.seeds))
    try:
        results = compare(seeds, episodes, args.eval_interval, n_jobs=args.jobs)
    except KeyboardInterrupt:
        print("Interrupted: no comparison to plot.")
        return None
    run_dir = new_run_dir(__file__, kind="compare")
    for (slippery, steps), curves in sorted(results.items()):
        reached = episodes_to_reach(curves, args.eval_interval)
        lake = "slippery" if slippery else "easy"
        when = f"never reaches {SUCCESS_THRESHOLD}"
        if not np.isnan(reached).all():
            when = (f"reaches {SUCCESS_THRESHOLD} after {np.nanmean(reached):.0f} episodes "
                    f"on average ({np.isnan(reached).sum()} of {len(reached)} seeds never do)")
        print(f"{lake:>8} lake, {steps:2d} planning steps: mean success "
              f"{curves[:, -1].mean():.2f} at the end; {when}")
    plot_comparison(results, args.eval_interval, run_dir / "compare.png")
    finish_run(run_dir)
    show_plot(not args.no_show)
    return results


def run_single(args, episodes):
    """Learn with ``--modelstep`` planning steps, then plain Q-learning with the same seed."""
    lake = "slippery FrozenLake" if args.slippery else "FrozenLakeEasy"
    labels = {args.modelstep: f"Dyna ({args.modelstep} planning steps)"}
    if args.modelstep > 0:
        labels[0] = "Q-learning (no planning)"
    run_dir = new_run_dir(__file__)
    runs, reached = {}, {}
    interrupted = False
    for steps, label in labels.items():
        print(f"{label} on {lake}, seed {args.seed}:")
        rewards, success, interrupted = run_one(steps, args.seed, episodes, args.slippery,
                                                eval_interval=1, report_interval=100)
        runs[label] = (rewards, success)
        reached[label] = episodes_to_reach(success, 1)[0] if len(success) else np.nan
        if interrupted:
            print("Interrupted: keeping the curves learned so far.")
            break

    print()
    for label, (_, success) in runs.items():
        final = f"{success[-1]:.2f}" if len(success) else "-"
        print(f"{label}: {describe_reach(reached[label])} (success rate at the end: {final})")
    if any(len(success) for _, success in runs.values()):
        save_run_csv(runs, run_dir / "rewards.csv")
        plot_run(runs, run_dir / "rewards.png",
                 f"{lake_name(args.slippery)} の Dyna (シード {args.seed}): 同じシードで、"
                 "プランニングありとなし")
    finish_run(run_dir, interrupted=interrupted, modelstep=args.modelstep,
               episodes_to_success={label: None if np.isnan(value) else int(value)
                                    for label, value in reached.items()})
    show_plot(not args.no_show)
    return runs


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Dyna-Q on FrozenLakeEasy: Q-learning plus planning in a learned model."
    )
    parser.add_argument("--modelstep", type=non_negative_int, default=DEFAULT_PLANNING_STEPS,
                        help="planning steps in the model after each real step (default "
                             f"{DEFAULT_PLANNING_STEPS}; 0 is plain Q-learning)")
    parser.add_argument("--episodes", type=positive_int, default=None,
                        help="episodes of learning (default 3000; 1000 with --compare)")
    parser.add_argument("--slippery", action="store_true",
                        help="learn on the slippery FrozenLake instead of FrozenLakeEasy")
    parser.add_argument("--compare", action="store_true",
                        help="compare 0, 5 and 50 planning steps over several seeds on both "
                             "lakes and plot the success rate against episodes")
    parser.add_argument("--seeds", type=positive_int, default=5,
                        help="number of seeds for --compare (default 5)")
    parser.add_argument("--eval-interval", type=positive_int, default=10,
                        help="with --compare, measure the greedy policy every N episodes "
                             "(default 10)")
    parser.add_argument("--jobs", type=int, default=-1,
                        help="parallel processes for --compare (default -1: all cores)")
    parser.add_argument("--seed", type=seed_value, default=0,
                        help="random seed (with --compare, the first of the seeds; default 0)")
    parser.add_argument("--no-show", action="store_true", help="do not open a plot window")
    args = parser.parse_args(argv)

    episodes = args.episodes if args.episodes is not None else (1000 if args.compare else 3000)
    if args.compare and args.eval_interval > episodes:
        exit_with_error(f"--eval-interval must be at most the episode count ({episodes}), "
                        f"got {args.eval_interval}")
    if args.jobs == 0 or args.jobs < -1:
        exit_with_error(f"--jobs must be -1 (all cores) or 1 or more, got {args.jobs}")
    if args.compare and args.seed + args.seeds - 1 > 2**32 - 1:
        exit_with_error("--seed plus --seeds must stay below 2**32")

    if args.compare:
        return run_comparison(args, episodes)
    return run_single(args, episodes)


if __name__ == "__main__":
    main()
