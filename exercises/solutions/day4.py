"""Day4 の演習の模範解答。"""

import numpy as np


def linear_epsilon(step, initial_epsilon, final_epsilon, decay_steps):
    fraction = min(step / decay_steps, 1.0)  # decay_steps を過ぎたら final のまま
    return initial_epsilon + fraction * (final_epsilon - initial_epsilon)


def dqn_targets(rewards, next_states, terminals, gamma, online_q, target_q):
    future = np.max(target_q(next_states), axis=1)  # 更新を止めたコピーで見積もる
    return np.asarray(rewards) + gamma * (1.0 - np.asarray(terminals)) * future


def huber(errors, delta=1.0):
    absolute = np.abs(errors)
    return np.where(absolute <= delta, 0.5 * np.square(errors), delta * (absolute - 0.5 * delta))


def dqn_loss(q_values, actions, targets, delta=1.0):
    taken = np.asarray(q_values)[np.arange(len(actions)), actions]  # とった行動の Q だけ
    return float(np.mean(huber(np.asarray(targets) - taken, delta)))
