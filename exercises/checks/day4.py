"""Checks of Day4: ε schedule, DQN targets with a frozen copy, Huber loss, DQN loss.

The references are computed here in NumPy, apart from FN/ (whose code may change).
"""

import numpy as np

from exercises.checks import Exercise, Wrong, call, compare

DAY = 4
GAMMA = 0.99


def check_linear_epsilon(fn, rng):
    for initial, final, decay in ((1.0, 0.05, 1000), (0.5, 0.1, 40)):
        for step in (0, decay // 4, decay // 2, decay - 1, decay, decay + 1, 3 * decay):
            what = f"linear_epsilon(step={step}, {initial}, {final}, {decay})"
            fraction = min(step / decay, 1.0)
            want = initial + fraction * (final - initial)
            compare(call(fn, step, initial, final, decay), want, what, [
                (initial + step / decay * (final - initial),
                 "decay_steps を過ぎても下がり続けています。その後は final_epsilon のままです。"),
                (final + fraction * (initial - final),
                 "向きが逆です。ε は initial_epsilon から final_epsilon へ下がります。"),
            ])


class Network:
    """A small linear "network": states (B, 3) → action values (B, 2)."""

    def __init__(self, weights):
        self.weights = np.asarray(weights, dtype=float)

    def __call__(self, states):
        return np.asarray(states, dtype=float) @ self.weights


def batch(rng):
    states = rng.normal(size=(6, 3))
    rewards = rng.normal(size=6)
    terminals = np.array([0, 1, 0, 0, 1, 0], dtype=float)
    return rewards, states, terminals


def check_dqn_targets(fn, rng):
    online = Network([[1.0, -0.5], [0.3, 0.8], [-0.2, 0.1]])
    target = Network([[0.2, 0.6], [-0.7, 0.4], [0.5, -0.3]])
    for _ in range(3):
        rewards, next_states, terminals = batch(rng)
        what = f"dqn_targets(terminals={terminals.astype(int).tolist()})"
        got = call(fn, rewards, next_states, terminals, GAMMA, online, target)
        future = target(next_states).max(axis=1)
        double = target(next_states)[np.arange(6), online(next_states).argmax(axis=1)]
        compare(got, rewards + GAMMA * (1 - terminals) * future, what, [
            (rewards + GAMMA * (1 - terminals) * online(next_states).max(axis=1),
             "学習中のネットワーク (online_q) で目標を計算しています。更新を止めたコピー "
             "(target_q) を使ってください: 目標が更新のたびに動くと学習が安定しません。"),
            (rewards + GAMMA * future,
             "終わり (terminals = 1) でも γ max Q(s') を足しています。(1 − d) を掛けてください。"),
            (rewards + GAMMA * (1 - terminals) * double,
             "online_q で行動を選び target_q で評価しています (Double DQN)。この演習では "
             "target_q の max です。"),
            (rewards + (1 - terminals) * future, "割引率 γ を掛けていません。"),
        ])


def huber_reference(errors, delta):
    absolute = np.abs(errors)
    return np.where(absolute <= delta, 0.5 * errors ** 2, delta * (absolute - 0.5 * delta))


def check_huber(fn, rng):
    cases = [(np.array([-3.0, -1.0, -0.5, 0.0, 0.2, 1.0, 2.5]), 1.0),
             (np.array([-2.0, 0.5, 1.5, 4.0]), 2.0), (rng.normal(scale=2.0, size=8), 1.0)]
    for errors, delta in cases:
        what = f"huber({np.round(errors, 3).tolist()}, delta={delta})"
        compare(call(fn, errors, delta), huber_reference(errors, delta), what, [
            (0.5 * errors ** 2, "いつも ½ e² (二乗誤差) です。|e| > δ では直線 δ(|e| − ½δ) です。"),
            (np.where(np.abs(errors) <= delta, errors ** 2, delta * (np.abs(errors) - 0.5 * delta)),
             "|e| ≤ δ の側に ½ がありません。"),
            (np.where(np.abs(errors) <= delta, 0.5 * errors ** 2, delta * np.abs(errors)),
             "|e| > δ の側で ½ δ を引いていません (δ のところで 2 つの式がつながりません)。"),
            (np.abs(errors), "絶対値だけです。"),
        ])


def check_dqn_loss(fn, rng):
    for _ in range(3):
        q_values = rng.normal(size=(5, 3))
        actions = rng.integers(3, size=5)
        targets = q_values[np.arange(5), actions] + rng.normal(scale=1.5, size=5)
        what = f"dqn_loss(actions={actions.tolist()})"
        got = call(fn, q_values, actions, targets)
        if np.ndim(got) != 0:
            raise Wrong(f"{what}: 損失は 1 つの数です (バッチで平均してください)。")
        taken = q_values[np.arange(5), actions]
        compare(got, huber_reference(targets - taken, 1.0).mean(), what, [
            (huber_reference(targets - q_values.max(axis=1), 1.0).mean(),
             "Q の最大を使っています。実際にとった行動 actions の Q(s, a) を使います。"),
            (huber_reference(targets - taken, 1.0).sum(), "平均ではなく和になっています。"),
            (np.mean((targets - taken) ** 2), "二乗誤差です。Huber 損失を使ってください。"),
        ])


EXERCISES = [
    Exercise(DAY, 1, "linear_epsilon", "直線的に減る ε",
             "本書 Day4「DQN」、FN/dqn_agent.py の DeepQNetworkTrainer", check_linear_epsilon),
    Exercise(DAY, 2, "dqn_targets", "DQN の目標 (固定したコピーと終わりの扱い)",
             "本書 Day4「DQN」(Fixed Target Q-Network)、FN/dqn_agent.py の "
             "DeepQNetworkAgent.set_updater", check_dqn_targets),
    Exercise(DAY, 3, "huber", "Huber 損失",
             "本書 Day4「DQN」、FN/dqn_agent.py の set_updater (keras.losses.huber)",
             check_huber),
    Exercise(DAY, 4, "dqn_loss", "DQN の損失",
             "本書 Day4「DQN」、FN/dqn_agent.py の DeepQNetworkAgent.set_updater",
             check_dqn_loss),
]
