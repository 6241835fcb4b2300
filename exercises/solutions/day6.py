"""Day6 の演習の模範解答。"""

import numpy as np


def dyna_planning(Q, model, pairs, gamma, learning_rate):
    for s, a in pairs:
        reward, n_state = model.reward(s, a), model.transit(s, a)  # モデルが覚えた経験
        gain = reward + gamma * np.max(Q[n_state])
        Q[s][a] += learning_rate * (gain - Q[s][a])
    return Q


def centered_ranks(rewards):
    ranks = np.empty(len(rewards))
    ranks[np.argsort(rewards)] = np.arange(len(rewards))  # 小さい順に 0, 1, …, n−1
    return ranks / (len(rewards) - 1) - 0.5


def es_update(theta, noises, rewards, sigma, learning_rate):
    rewards = np.asarray(rewards, dtype=float)
    std = rewards.std()
    if std == 0:
        return theta  # 全員同じ: 進む方向がない
    z = (rewards - rewards.mean()) / std
    step = np.tensordot(z, np.asarray(noises), axes=1)  # Σ_i z_i ε_i
    return theta + learning_rate / (len(rewards) * sigma) * step


def dagger_aggregate(states, actions, visited, teacher):
    new_states = list(states) + [state for state, _ in visited]
    # ラベルは生徒の行動ではなく、先生がその状態で選ぶ行動
    new_actions = list(actions) + [teacher(state) for state, _ in visited]
    return new_states, new_actions


def maxent_gradient(trajectories, policy, transition, terminal, features):
    n_states = len(terminal)
    counts = np.zeros(n_states)
    for t in trajectories:
        np.add.at(counts, np.asarray(t), 1)
    teacher = counts / len(trajectories) @ features

    distribution = np.bincount([t[0] for t in trajectories], minlength=n_states)
    distribution = distribution / len(trajectories)
    chain = np.einsum("sa,san->sn", policy, transition)
    chain[np.asarray(terminal)] = 0.0  # 終わりの状態からはどこへも行かない
    visitation = np.zeros(n_states)
    for _ in range(max(len(t) for t in trajectories)):
        visitation += distribution
        distribution = distribution @ chain
    return teacher - visitation @ features
