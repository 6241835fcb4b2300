"""Day6: model-based RL with Dyna — learn a model of the world and practise inside it.

Dyna learns a *model* of the environment while it acts: after each real step it updates Q as
Q-learning does, records the transition in the model, then replays ``steps_in_model`` imagined
transitions from the model into Q too (planning: computation instead of real experience).

Run: ``python MM/dyna.py`` (small: ``--episodes 100``; ``--modelstep 0`` is plain Q-learning)
prints after how many real episodes the greedy policy reaches the goal 90% of the time, and
writes ``rewards.csv``. ``python MM/dyna_compare.py`` draws Dyna against Q-learning.

Changes from the book (measured in doc/day6_im_mm.md):
- ``--modelstep`` defaults to 50, not -1 (no planning), so that a plain run shows Dyna;
- success rates are exact, from the lake's transition table, not from test episodes;
- Q ties are broken at random, and only a terminated episode stops the bootstrap.
"""

import argparse
import random
from collections import Counter, defaultdict

from common import (
    atomic_path,
    finish_run,
    new_run_dir,
    non_negative_int,
    positive_int,
    seed_value,
    set_seed,
)

import numpy as np

from envs.frozen_lake import make_frozen_lake, success_probability, transition_table

DEFAULT_PLANNING_STEPS = 50
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
        """Learn on ``env``, planning ``steps_in_model`` imagined steps after each real one (≤ 0:
        plain Q-learning). Returns each episode's reward; ``callback(episode, agent, reward)``
        runs after each episode; ``report_interval`` 0 turns the log off."""
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
    """One run: ``(rewards, success, interrupted)``: each episode's reward, and the greedy
    policy's exact success probability every ``eval_interval`` episodes. Ctrl-C ends the run
    early and keeps both curves so far (``interrupted`` is then True)."""
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


def episodes_to_reach(curves, eval_interval, threshold=SUCCESS_THRESHOLD):
    """For each seed (row of ``curves``), the first episode count with success ≥ ``threshold``
    (``nan`` for a seed that never gets there)."""
    curves = np.atleast_2d(curves)
    reached = curves >= threshold
    first = (reached.argmax(axis=1) + 1) * eval_interval
    return np.where(reached.any(axis=1), first, np.nan)


def describe_reach(episodes):
    """``episodes`` to the threshold as words: "after 17 episodes", or "not within the run"."""
    if np.isnan(episodes):
        return (f"成功率 {SUCCESS_THRESHOLD} に届きません "
                f"(does not reach {SUCCESS_THRESHOLD} within the run)")
    return (f"{int(episodes)} エピソードで成功率 {SUCCESS_THRESHOLD} に届きました "
            f"(reaches {SUCCESS_THRESHOLD} after {int(episodes)} episodes)")


def add_learning_arguments(parser):
    """The options of one learning run (``MM/dyna_compare.py`` takes them too)."""
    parser.add_argument("--modelstep", type=non_negative_int, default=DEFAULT_PLANNING_STEPS,
                        help="planning steps in the model after each real step (default "
                             f"{DEFAULT_PLANNING_STEPS}; 0 is plain Q-learning)")
    parser.add_argument("--episodes", type=positive_int, default=3000,
                        help="episodes of learning (default 3000)")
    parser.add_argument("--slippery", action="store_true",
                        help="learn on the slippery FrozenLake instead of FrozenLakeEasy")


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Dyna-Q on FrozenLakeEasy: Q-learning plus planning in a learned model."
    )
    add_learning_arguments(parser)
    parser.add_argument("--seed", type=seed_value, default=0, help="random seed (default 0)")
    args = parser.parse_args(argv)

    lake = "滑る FrozenLake (slippery)" if args.slippery else "FrozenLakeEasy"
    label = (f"Dyna (プランニング {args.modelstep} ステップ, planning steps)" if args.modelstep
             else "Q-learning")
    print(f"{label}、{lake}、シード {args.seed}:")
    rewards, success, interrupted = run_one(args.modelstep, args.seed, args.episodes,
                                            args.slippery, eval_interval=1, report_interval=100)
    if interrupted:
        print("中断しました。ここまでの学習曲線を残します (interrupted: keeping the curves).")
    reached = episodes_to_reach(success, 1)[0] if len(success) else np.nan
    final = f"{success[-1]:.2f}" if len(success) else "-"
    print(f"{label}: {describe_reach(reached)}、最後の成功率 (success rate at the end) {final}")
    run_dir = new_run_dir(__file__)
    with atomic_path(run_dir / "rewards.csv") as temporary:
        np.savetxt(temporary, np.column_stack([np.arange(1, len(success) + 1), rewards, success]),
                   fmt=["%d", "%g", "%.6f"], delimiter=",", header="episode,reward,success",
                   comments="")
    print(f"Saved {run_dir / 'rewards.csv'}")
    finish_run(run_dir, interrupted=interrupted, modelstep=args.modelstep,
               episodes_to_success=None if np.isnan(reached) else int(reached))
    print("ふつうの Q-learning との比較と図 (against plain Q-learning): "
          "python MM/dyna_compare.py")
    return rewards, success


if __name__ == "__main__":
    main()
