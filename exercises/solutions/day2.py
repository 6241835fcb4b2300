"""Day2 の演習の模範解答。"""


def action_value(env, V, state, action, gamma):
    value = 0.0
    for next_state, prob in env.transit_func(state, action).items():
        reward, _ = env.reward_func(next_state)
        value += prob * (reward + gamma * V[next_state])
    return value


def value_iteration_sweep(env, V, gamma):
    new_V = {}
    for s in env.states:
        if not env.can_action_at(s):
            new_V[s] = 0.0  # 終わりのマス: この先に報酬はない
            continue
        new_V[s] = max(action_value(env, V, s, a, gamma) for a in env.actions)
    return new_V


def greedy_policy(env, V, gamma):
    return {s: max(env.actions, key=lambda a, s=s: action_value(env, V, s, a, gamma))
            for s in env.states if env.can_action_at(s)}


def policy_evaluation(env, policy, gamma, threshold=1e-6):
    V = {s: 0.0 for s in env.states}
    while True:
        delta = 0.0
        for s in env.states:
            if not env.can_action_at(s):
                continue
            value = sum(action_prob * action_value(env, V, s, a, gamma)
                        for a, action_prob in policy[s].items())
            delta = max(delta, abs(value - V[s]))
            V[s] = value
        if delta < threshold:
            return V
