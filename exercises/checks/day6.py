"""Checks of Day6: Dyna planning, rank shaping and the evolution-strategies update, DAgger's
data aggregation, the MaxEnt IRL gradient (MM/, EV/, IM/).

The evolution-strategies reference is computed here in NumPy, apart from EV/.
"""

import numpy as np

from envs.frozen_lake import transition_table
from envs.gridworld import GridWorldEnv
from exercises.checks import Exercise, Wrong, call, compare
from IM.maxent import MaxEntIRL
from MM.dyna import DynaAgent, Model

DAY = 6
GAMMA, ALPHA = 0.9, 0.5


def learned_model():
    """A model of a small chain 0 → 1 → 2 → 3 (the goal pays 1), as Dyna would record it."""
    model = Model(actions=[0, 1])
    for s, a, r, n in [(0, 1, 0.0, 1), (1, 1, 0.0, 2), (2, 1, 1.0, 3), (1, 0, 0.0, 0),
                       (2, 1, 0.0, 3), (2, 0, 0.0, 1)]:
        model.update(s, a, r, n)
    return model


def dyna_reference(Q, pairs, sequential=True, with_reward=True):
    model = learned_model()
    agent = DynaAgent()
    agent.value = Q.copy()
    source = agent.value if sequential else Q.copy()
    for s, a in pairs:
        reward = model.reward(s, a) if with_reward else 0.0
        n_state = model.transit(s, a)
        gain = reward + GAMMA * max(source[n_state])
        agent.value[s][a] += ALPHA * (gain - agent.value[s][a])
    return agent.value


def check_dyna_planning(fn, rng):
    for Q in (np.zeros((4, 2)), rng.uniform(0, 0.5, (4, 2))):
        for pairs in ([(2, 1), (1, 1), (0, 1)], [(2, 1), (2, 1), (1, 1), (1, 0), (2, 0)]):
            what = f"dyna_planning(pairs={pairs}) の Q"
            want = dyna_reference(Q, pairs)
            model = learned_model()
            agent = DynaAgent()
            agent.value = Q.copy()
            for s, a in pairs:  # the project's own update, as Dyna calls it in MM/dyna.py
                agent.update(s, a, model.reward(s, a), model.transit(s, a), GAMMA, ALPHA)
            compare(want, agent.value, "検査の参照値と DynaAgent.update")
            compare(call(fn, Q, learned_model(), pairs, GAMMA, ALPHA), want, what, [
                (dyna_reference(Q, pairs, with_reward=False),
                 "モデルの報酬 model.reward(s, a) を足していません。"),
                (dyna_reference(Q, pairs, sequential=False),
                 "すべての更新で最初の Q を見ています。1 つ更新したら、次はその Q を使います。"),
            ])


def ranks_reference(rewards):
    ranks = np.empty(len(rewards))
    ranks[np.argsort(rewards)] = np.arange(len(rewards))
    return ranks / (len(rewards) - 1) - 0.5


def check_centered_ranks(fn, rng):
    for rewards in (np.array([5.0, 100.0, -2.0, 1.0, 0.5]), np.array([3.0, -1.0, 10.0, 0.0]),
                    rng.permutation(8) * 1.5 - 3.0):
        what = f"centered_ranks({rewards.tolist()})"
        n = len(rewards)
        compare(call(fn, rewards), ranks_reference(rewards), what, [
            (-ranks_reference(rewards), "向きが逆です。いちばん大きい報酬が 0.5 です。"),
            (ranks_reference(rewards) + 0.5, "中心がずれています。−0.5 から 0.5 に並べます。"),
            (np.argsort(rewards) / (n - 1) - 0.5,
             "np.argsort の結果は順位ではなく「小さい順に並べた番号」です。順位はその逆です。"),
        ])


def es_reference(theta, noises, rewards, sigma, alpha, divide_sigma=True, divide_n=True,
                 standardized=True, centered=True):
    std = rewards.std()
    if std == 0:
        return theta
    z = rewards - (rewards.mean() if centered else 0.0)
    if standardized:
        z = z / std
    rate = alpha / ((len(rewards) if divide_n else 1) * (sigma if divide_sigma else 1))
    return theta + rate * np.tensordot(z, noises, axes=1)


def check_es_update(fn, rng):
    theta = rng.normal(size=5)
    noises = rng.normal(size=(6, 5))
    for rewards in (np.array([1.0, 3.0, -2.0, 0.0, 5.0, 2.0]), rng.normal(3.0, 2.0, size=6),
                    np.full(6, 4.0)):
        what = f"es_update(rewards={np.round(rewards, 3).tolist()}, sigma=0.1) の θ"
        args = (theta, noises, rewards, 0.1, 0.02)
        got = call(fn, *args)
        if np.any(~np.isfinite(np.asarray(got, dtype=float))):
            raise Wrong(f"{what}: nan か inf が出ています。std R = 0 なら θ をそのまま返します。")
        compare(got, es_reference(*args), what, [
            (es_reference(*args, standardized=False, centered=False),
             "報酬を標準化していません: z_i = (R_i − 平均) / 標準偏差。"),
            (es_reference(*args, standardized=False),
             "報酬の平均は引いていますが、標準偏差で割っていません。"),
            (es_reference(*args, divide_sigma=False), "σ で割っていません。"),
            (es_reference(*args, divide_n=False), "候補の数 n で割っていません。"),
            (2 * theta - es_reference(*args),
             "符号が逆です。報酬の高い候補のノイズの方へ進みます。"),
        ])


def check_dagger_aggregate(fn, rng):
    def teacher(state):
        return (3 * state + 1) % 4

    states, actions = [0, 5, 6], [1, 0, 3]
    visited = [(1, 2), (2, 0), (7, 0), (5, 3)]
    got = call(fn, states, actions, visited, teacher)
    if not isinstance(got, tuple) or len(got) != 2:
        raise Wrong("(states, actions) の 2 つを返してください。")
    got_states, got_actions = (list(map(int, part)) for part in got)
    want_states = states + [s for s, _ in visited]
    want_actions = actions + [teacher(s) for s, _ in visited]
    if got_states == [s for s, _ in visited]:
        raise Wrong("これまでのデータを捨てています。DAgger は新しいデータを後ろに足して、"
                    "すべてで学び直します。")
    if got_states != want_states:
        raise Wrong(f"states: 正しくは {want_states}、あなたの答えは {got_states} です "
                    "(これまでの状態の後ろに、訪れた状態を順に足します)。")
    if got_actions[len(actions):] == [a for _, a in visited]:
        raise Wrong("生徒が選んだ行動をラベルにしています。"
                    "ラベルは先生 teacher(state) の行動です。")
    if got_actions != want_actions:
        raise Wrong(f"actions: 正しくは {want_actions}、あなたの答えは {got_actions} です。")


TRAJECTORIES = [[12, 8, 4, 0, 1, 2, 3], [12, 8, 4, 5, 6, 2, 3], [12, 13, 14, 10, 6, 7, 3],
                [12, 8, 4, 0, 1, 2, 6, 2, 3]]


def check_maxent_gradient(fn, rng):
    env = GridWorldEnv()
    irl = MaxEntIRL(env)
    features = np.vstack([env.state_to_feature(s) for s in range(env.observation_space.n)])
    transition, terminal = transition_table(env), env.mdp.terminal
    uniform = np.full((16, 4), 0.25)
    drawn = rng.dirichlet(np.ones(4), size=16)
    for name, policy in (("一様な戦略", uniform), ("ランダムに作った戦略", drawn)):
        teacher = irl.calculate_expected_feature(TRAJECTORIES) @ features
        expected = irl.expected_features_under_policy(policy, TRAJECTORIES) @ features
        open_chain = np.einsum("sa,san->sn", policy, transition)
        distribution = np.bincount([t[0] for t in TRAJECTORIES], minlength=16) / 4
        leaking = np.zeros(16)
        for _ in range(max(map(len, TRAJECTORIES))):
            leaking += distribution
            distribution = distribution @ open_chain
        what = f"{name}での maxent_gradient (状態の順)"
        got = call(fn, TRAJECTORIES, policy, transition, terminal, features)
        compare(got, teacher - expected, what, [
            (expected - teacher, "符号が逆です: 先生の回数 − 戦略で期待される回数 です。"),
            (teacher * len(TRAJECTORIES) - expected,
             "先生の訪問回数を軌跡の数で割っていません (1 本あたりの平均にします)。"),
            (teacher - leaking @ features,
             "終わりの状態から先へも進めています。P_π の終わりの状態の行を 0 にします。"),
        ])


EXERCISES = [
    Exercise(DAY, 1, "dyna_planning", "Dyna の計画 (モデルの中での更新)",
             "本書 Day6「モデルベースとの併用」、MM/dyna.py の DynaAgent.learn と Model",
             check_dyna_planning),
    Exercise(DAY, 2, "centered_ranks", "報酬を順位にそろえる (rank shaping)",
             "本書 Day6「進化戦略」、EV/evolution.py の EvolutionalTrainer.update",
             check_centered_ranks),
    Exercise(DAY, 3, "es_update", "進化戦略の更新",
             "本書 Day6「進化戦略」、EV/evolution.py の EvolutionalTrainer.update",
             check_es_update),
    Exercise(DAY, 4, "dagger_aggregate", "DAgger のデータ集約",
             "本書 Day6「模倣学習」、IM/dagger.py の Student.imitate と play_and_label",
             check_dagger_aggregate),
    Exercise(DAY, 5, "maxent_gradient", "MaxEnt 逆強化学習の勾配",
             "本書 Day6「逆強化学習」、IM/maxent.py の MaxEntIRL.estimate",
             check_maxent_gradient),
]
