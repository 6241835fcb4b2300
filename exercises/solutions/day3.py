"""Day3 の演習の模範解答。"""

import numpy as np


def epsilon_greedy(q_values, epsilon, rng):
    if rng.random() < epsilon:
        return int(rng.integers(len(q_values)))  # 探索: 最善の行動も含めてランダムに
    return int(np.argmax(q_values))  # 活用: いちばん価値の高い行動


def q_learning_update(Q, s, a, reward, n_state, terminated, gamma, learning_rate):
    gain = reward if terminated else reward + gamma * np.max(Q[n_state])
    Q[s][a] += learning_rate * (gain - Q[s][a])
    return Q


def sarsa_update(Q, s, a, reward, n_state, n_action, terminated, gamma, learning_rate):
    gain = reward if terminated else reward + gamma * Q[n_state][n_action]
    Q[s][a] += learning_rate * (gain - Q[s][a])
    return Q


def monte_carlo_update(Q, N, experience, gamma):
    G = 0.0  # 終わりの後には何もない
    for s, a, reward in reversed(experience):
        G = reward + gamma * G
        N[s][a] += 1
        Q[s][a] += (G - Q[s][a]) / N[s][a]
    return Q, N


def actor_critic_update(preferences, V, s, a, reward, n_state, terminated, gamma, learning_rate):
    gain = reward if terminated else reward + gamma * V[n_state]
    td = gain - V[s]  # 先に δ を 1 つ求め、Actor と Critic の両方に使う
    preferences[s][a] += learning_rate * td
    V[s] += learning_rate * td
    return preferences, V
