"""Day1 の演習の模範解答。"""

from ML.mdp import STATES, TERMINALS, reward_func, transit_func


def discounted_return(rewards, gamma):
    total, weight = 0.0, 1.0
    for reward in rewards:
        total += weight * reward
        weight *= gamma  # 1 ステップ先へ進むごとに γ をもう 1 回掛ける
    return total


def returns_of_every_step(rewards, gamma):
    returns = [0.0] * len(rewards)
    following = 0.0  # G_T = 0: 最後の報酬の後には何もない
    for t in reversed(range(len(rewards))):
        following = rewards[t] + gamma * following
        returns[t] = following
    return returns


def expected_reward(state, policy):
    return sum(action_prob * prob * reward_func(state, next_state)
               for action, action_prob in policy[state].items()
               for next_state, prob in transit_func(state, action).items())


def state_values(gamma, policy):
    V = {s: 0.0 for s in STATES}
    while True:  # Bellman 方程式の右辺で V を更新し直し、変わらなくなるまで繰り返す
        delta = 0.0
        for s in STATES:
            if s in TERMINALS:
                continue
            value = sum(action_prob * prob * (reward_func(s, n) + gamma * V[n])
                        for action, action_prob in policy[s].items()
                        for n, prob in transit_func(s, action).items())
            delta = max(delta, abs(value - V[s]))
            V[s] = value
        if delta < 1e-10:
            return V
