"""Day5 の演習の模範解答。"""

import numpy as np


def normalized_returns(rewards, gamma):
    returns = np.zeros(len(rewards))
    following = 0.0
    for t in reversed(range(len(rewards))):
        following = rewards[t] + gamma * following
        returns[t] = following
    std = returns.std()
    return (returns - returns.mean()) / (std if std > 0 else 1.0)


def policy_gradient_loss(log_probs, actions, advantages):
    taken = np.asarray(log_probs)[np.arange(len(actions)), actions]
    return float(-np.mean(taken * np.asarray(advantages)))  # 最大化したいので符号を反転


def n_step_returns(rewards, terminated, last_value, gamma):
    returns = np.zeros(len(rewards))
    following = last_value  # n ステップ先は Critic の見積もりで補う
    for t in reversed(range(len(rewards))):
        following = rewards[t] + gamma * (1.0 - terminated[t]) * following
        returns[t] = following
    return returns


def log_softmax(logits):
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def a2c_loss(logits, values, actions, returns, value_loss_weight=0.5, entropy_weight=0.01):
    log_probs = log_softmax(np.asarray(logits, dtype=float))
    advantages = returns - values  # 行動の価値 (実績 G) − 状態の価値 (Critic の予測)
    policy_loss = -np.mean(log_probs[np.arange(len(actions)), actions] * advantages)
    value_loss = np.mean((returns - values) ** 2)
    entropy = np.mean(-np.sum(np.exp(log_probs) * log_probs, axis=1))
    loss = policy_loss + value_loss_weight * value_loss - entropy_weight * entropy
    return loss, policy_loss, value_loss, entropy


def seed_summary(curves):
    mean = np.mean(curves, axis=0)  # 軸 0 = シード: 評価点ごとにシードをまたいで平均する
    std = np.std(curves, axis=0)
    return mean, mean - std, mean + std
