"""Checks of Day5: REINFORCE returns and loss, n-step returns, the A2C loss, seed bands.

The references are computed here in NumPy, apart from FN/ (whose code may change).
"""

import numpy as np

from exercises.checks import Exercise, Wrong, call, compare

DAY = 5


def returns_of(rewards, gamma, terminated=None, last_value=0.0):
    terminated = np.zeros(len(rewards)) if terminated is None else terminated
    returns, following = np.zeros(len(rewards)), last_value
    for t in reversed(range(len(rewards))):
        following = rewards[t] + gamma * (1.0 - terminated[t]) * following
        returns[t] = following
    return returns


def standardize(values):
    std = values.std()
    return (values - values.mean()) / (std if std > 0 else 1.0)


def check_normalized_returns(fn, rng):
    cases = [(np.ones(10), 0.99), (np.array([0.0, 0.0, 1.0]), 0.9), (np.array([2.0]), 0.9),
             (np.array([1.0, 1.0]), 0.0), (rng.normal(size=7), 0.95)]
    for rewards, gamma in cases:
        what = f"normalized_returns({np.round(rewards, 3).tolist()}, gamma={gamma})"
        got = call(fn, rewards, gamma)
        if np.any(~np.isfinite(np.asarray(got, dtype=float))):
            raise Wrong(f"{what}: nan か inf が出ています。std(G) = 0 なら平均を引くだけです。")
        forward = np.array([sum(gamma ** k * r for k, r in enumerate(rewards[:t + 1]))
                            for t in range(len(rewards))])
        compare(got, standardize(returns_of(rewards, gamma)), what, [
            (returns_of(rewards, gamma), "標準化していません: (G − 平均) / 標準偏差 にします。"),
            (standardize(rewards),
             "報酬そのものを標準化しています。先に割引報酬和 G_t を求めます。"),
            (standardize(forward), "G_t が t までの和です。G_t は t から先の報酬の和です。"),
        ])


def probabilities(rng, batch, actions):
    logits = rng.normal(size=(batch, actions))
    return logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))


def check_policy_gradient_loss(fn, rng):
    for _ in range(3):
        log_probs = probabilities(rng, 6, 3)
        actions = rng.integers(3, size=6)
        advantages = rng.normal(size=6)
        what = f"policy_gradient_loss(actions={actions.tolist()})"
        got = call(fn, log_probs, actions, advantages)
        if np.ndim(got) != 0:
            raise Wrong(f"{what}: 損失は 1 つの数です (バッチで平均してください)。")
        taken = log_probs[np.arange(6), actions]
        compare(got, -np.mean(taken * advantages), what, [
            (np.mean(taken * advantages), "符号が逆です。J を大きくしたいので損失は − J です。"),
            (-np.mean(log_probs.sum(axis=1) * advantages),
             "すべての行動の log π を足しています。とった行動 a_i の log π(a_i|s_i) だけです。"),
            (-np.mean(np.exp(taken) * advantages), "log π ではなく π を使っています。"),
        ])


def check_n_step_returns(fn, rng):
    cases = [(np.array([1.0, 1.0, 1.0, 1.0]), np.zeros(4), 10.0),
             (np.array([0.0, 1.0, 0.0, 0.0, 2.0]), np.array([0, 1, 0, 0, 0.0]), 5.0),
             (np.array([1.0, 0.0, 1.0]), np.array([0, 0, 1.0]), -3.0)]
    cases.append((rng.normal(size=6), (rng.random(6) < 0.3).astype(float), float(rng.normal())))
    for rewards, terminated, last_value in cases:
        what = (f"n_step_returns({np.round(rewards, 3).tolist()}, "
                f"terminated={terminated.astype(int).tolist()}, last_value={last_value:.3g})")
        compare(call(fn, rewards, terminated, last_value, 0.9),
                returns_of(rewards, 0.9, terminated, last_value), what, [
                    (returns_of(rewards, 0.9, terminated),
                     "最後の先を V(s_n) (last_value) で補っていません。"),
                    (returns_of(rewards, 0.9, None, last_value),
                     "エピソードが終わった (terminated) ところでも先の値を足しています。"),
                ])


def a2c_reference(logits, values, actions, returns, value_weight, entropy_weight,
                  advantage_from_values=True, entropy_sign=-1.0):
    log_probs = logits - logits.max(axis=1, keepdims=True)
    log_probs -= np.log(np.exp(log_probs).sum(axis=1, keepdims=True))
    advantages = returns - values if advantage_from_values else returns
    policy_loss = -np.mean(log_probs[np.arange(len(actions)), actions] * advantages)
    value_loss = np.mean((returns - values) ** 2)
    entropy = np.mean(-np.sum(np.exp(log_probs) * log_probs, axis=1))
    loss = policy_loss + value_weight * value_loss + entropy_sign * entropy_weight * entropy
    return np.array([loss, policy_loss, value_loss, entropy])


def check_a2c_loss(fn, rng):
    for scale in (1.0, 300.0):  # logits near 1000: exp overflows unless the max goes first
        logits = rng.normal(scale=scale, size=(5, 3))
        values = rng.normal(size=5)
        actions = rng.integers(3, size=5)
        returns = values + rng.normal(size=5)
        got = call(fn, logits, values, actions, returns, 0.5, 0.1)
        what = (f"a2c_loss(logits の大きさ ~{scale:g}, actions={actions.tolist()}) の "
                "(loss, policy_loss, value_loss, entropy)")
        if not isinstance(got, tuple) or len(got) != 4:
            raise Wrong("(loss, policy_loss, value_loss, entropy) の 4 つを返してください。")
        if not np.all(np.isfinite(np.asarray(got, dtype=float))):
            raise Wrong(f"{what}: nan か inf が出ています。大きな logits で exp があふれています。"
                        "log_softmax は各行の最大値を引いてから計算します。")
        compare(np.array(got, dtype=float),
                a2c_reference(logits, values, actions, returns, 0.5, 0.1), what, [
                    (a2c_reference(logits, values, actions, returns, 0.5, 0.1,
                                   advantage_from_values=False),
                     "Advantage に G をそのまま使っています。A = G − V(s) です。"),
                    (a2c_reference(logits, values, actions, returns, 0.5, 0.1, entropy_sign=1.0),
                     "エントロピーを損失に足しています。探索を保つため、損失からは引きます。"),
                ])


def check_seed_summary(fn, rng):
    curves = np.array([[10.0, 50, 200, 480], [12.0, 20, 60, 150], [9.0, 80, 400, 500]])
    for case in (curves, rng.normal(size=(5, 7))):
        got = call(fn, case)
        if not isinstance(got, tuple) or len(got) != 3:
            raise Wrong("(平均, 平均 − 標準偏差, 平均 + 標準偏差) の 3 つを返してください。")
        mean, std = case.mean(axis=0), case.std(axis=0)
        what = f"形 {case.shape} の curves の seed_summary"
        compare(got[0], mean, what + " の平均", [
            (case.mean(axis=1), "評価点の方向 (軸 1) で平均しています。シードの方向 (軸 0) です。"),
        ])
        compare(np.array(got[1:]), np.array([mean - std, mean + std]), what + " の帯", [
            (np.array([mean - std ** 2, mean + std ** 2]), "分散を使っています。標準偏差です。"),
        ])


EXERCISES = [
    Exercise(DAY, 1, "normalized_returns", "REINFORCE の標準化した割引報酬和",
             "本書 Day4「方策勾配法」、FN/policy_gradient_agent.py の "
             "PolicyGradientTrainer.make_batch", check_normalized_returns),
    Exercise(DAY, 2, "policy_gradient_loss", "方策勾配法の損失",
             "本書 Day4「方策勾配法」、FN/policy_gradient_agent.py の "
             "PolicyGradientAgent.set_updater", check_policy_gradient_loss),
    Exercise(DAY, 3, "n_step_returns", "A2C の n ステップの割引報酬和",
             "本書 Day4「A2C」(Advantage)、FN/a2c_agent.py の n_step_returns",
             check_n_step_returns),
    Exercise(DAY, 4, "a2c_loss", "A2C の損失 (戦略・価値・エントロピー)",
             "本書 Day4「A2C」、FN/a2c_agent.py の actor_critic_loss", check_a2c_loss),
    Exercise(DAY, 5, "seed_summary", "シードをまたいだ平均と帯",
             "本書 Day5「再現性が低い」、doc/day5_seeds.png、"
             "FN/notebooks/framework_and_logs.ipynb", check_seed_summary),
]
