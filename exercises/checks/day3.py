"""Checks of Day3: ε-greedy, the Q-learning and SARSA updates, Monte Carlo, Actor-Critic (EL/)."""

import numpy as np

from EL.q_learning import QLearningAgent
from EL.sarsa import SARSAAgent
from exercises.checks import Exercise, Wrong, as_array, call, compare

DAY = 3
GAMMA, ALPHA = 0.9, 0.1


def check_epsilon_greedy(fn, rng):
    q_values = np.array([0.1, 0.5, 0.3, -0.2])
    draws = 4000
    for epsilon in (0.3, 1.0, 0.0):
        generator = np.random.default_rng(int(rng.integers(2**31)))
        actions = [fn(q_values.copy(), epsilon, generator) for _ in range(draws)]
        if any(int(action) not in range(len(q_values)) for action in actions):
            raise Wrong(f"ε = {epsilon}: 行動は 0 … {len(q_values) - 1} の番号で返してください。")
        share = np.bincount(np.asarray(actions, dtype=int), minlength=4) / draws
        best = share[1]  # q_values の最大は行動 1
        want = 1 - epsilon + epsilon / len(q_values)
        if epsilon == 0.0 and best < 1.0:
            raise Wrong("ε = 0 なのにランダムに選んでいます。ε = 0 ならいつも最大の行動です。")
        if abs(best - want) > 0.03:
            if abs(best - (epsilon + (1 - epsilon) / len(q_values))) < 0.03:
                hint = "探索と活用が逆です。確率 ε でランダム、残りで最大の行動です。"
            elif abs(best - (1 - epsilon)) < 0.03:
                hint = "ランダムに選ぶときに最大の行動を除いています。すべての行動から選びます。"
            else:
                hint = "ε の確率でランダム、1 − ε で最大の行動、になっていません。"
            raise Wrong(f"ε = {epsilon}、Q = {q_values.tolist()}: 最大の行動を選んだ割合は "
                        f"{best:.3f}、期待は 1 − ε + ε/4 = {want:.3f} です。{hint}")


def td_cases(rng):
    """(Q, s, a, r, s', a', terminated): fixed ones that catch mistakes, and drawn ones."""
    Q = np.array([[0.0, 0.2, -0.1, 0.4], [0.5, 0.1, 0.9, 0.3], [0.0, 0.0, 0.0, 0.0]])
    cases = [(Q, 0, 1, 0.0, 1, 3, False), (Q, 1, 2, 1.0, 1, 0, True),
             (Q, 0, 3, -1.0, 0, 2, False), (Q, 1, 0, 1.0, 0, 1, True)]
    for _ in range(3):
        cases.append((rng.uniform(-1, 1, (3, 4)), int(rng.integers(3)), int(rng.integers(4)),
                      float(rng.uniform(-1, 1)), int(rng.integers(3)), int(rng.integers(4)),
                      bool(rng.integers(2))))
    return cases


def by_agent(agent_class, Q, *args):
    agent = agent_class()
    agent.Q = Q.copy()
    agent.update(*args)
    return agent.Q


def update_with(Q, s, a, target, alpha=ALPHA):
    updated = Q.copy()
    updated[s][a] += alpha * (target - Q[s][a])
    return updated


def describe(s, a, r, n_s, terminated, n_a=None):
    action = "" if n_a is None else f", a'={n_a}"
    return f"s={s}, a={a}, r={r:.3g}, s'={n_s}{action}, terminated={terminated}"


def check_q_learning_update(fn, rng):
    for Q, s, a, r, n_s, n_a, terminated in td_cases(rng):
        what = f"q_learning_update({describe(s, a, r, n_s, terminated)}) の Q"
        got = call(fn, Q, s, a, r, n_s, terminated, GAMMA, ALPHA)
        want = by_agent(QLearningAgent, Q, s, a, r, n_s, terminated, GAMMA, ALPHA)
        compare(got, want, what, [
            (update_with(Q, s, a, r + GAMMA * Q[n_s].max()),
             "終わった (terminated) のに γ max Q(s') を足しています。終わりなら目標は r "
             "だけです。"),
            (update_with(Q, s, a, r if terminated else r + GAMMA * Q[n_s][n_a]),
             "次の行動 a' の Q を使っています (それは SARSA)。Q-learning は "
             "max_a' Q(s', a') です。"),
            (update_with(Q, s, a, r if terminated else r + GAMMA * Q[n_s].max(), alpha=-ALPHA),
             "符号が逆です。Q は目標との差 (目標 − Q) の向きに動かします。"),
            (update_with(Q, s, a, r if terminated else r + GAMMA * Q[n_s].max(), alpha=1.0),
             "学習率 α を掛けていません。Q を目標に置き換えず、差の α 倍だけ動かします。"),
        ])


def check_sarsa_update(fn, rng):
    for Q, s, a, r, n_s, n_a, terminated in td_cases(rng):
        what = f"sarsa_update({describe(s, a, r, n_s, terminated, n_a)}) の Q"
        got = call(fn, Q, s, a, r, n_s, n_a, terminated, GAMMA, ALPHA)
        want = by_agent(SARSAAgent, Q, s, a, r, n_s, n_a, terminated, GAMMA, ALPHA)
        compare(got, want, what, [
            (update_with(Q, s, a, r if terminated else r + GAMMA * Q[n_s].max()),
             "max_a' Q(s', a') を使っています (それは Q-learning)。SARSA は実際に選んだ a' の "
             "Q(s', a') です。"),
            (update_with(Q, s, a, r + GAMMA * Q[n_s][n_a]),
             "終わった (terminated) のに γ Q(s', a') を足しています。終わりなら目標は r "
             "だけです。"),
            (update_with(Q, s, a, r if terminated else r + GAMMA * Q[n_s][n_a], alpha=-ALPHA),
             "符号が逆です。Q は (目標 − Q) の向きに動かします。"),
        ])


def monte_carlo_reference(Q, N, experience, gamma, forward=False, alpha=None):
    Q, N = Q.copy(), N.copy()
    rewards = [r for _, _, r in experience]
    for t, (s, a, _) in enumerate(experience):
        G = sum(gamma ** k * r for k, r in enumerate(rewards[t + 1 if forward else t:]))
        N[s][a] += 1
        Q[s][a] += (alpha if alpha else 1 / N[s][a]) * (G - Q[s][a])
    return Q, N


def check_monte_carlo_update(fn, rng):
    episodes = [[(0, 1, 0.0), (1, 2, 0.0), (2, 2, 1.0)],
                [(0, 1, 0.0), (1, 0, 0.0), (0, 1, 0.0), (1, 2, -1.0)],
                [(2, 3, 1.0)]]
    episodes.append([(int(rng.integers(3)), int(rng.integers(4)), float(rng.integers(-1, 2)))
                     for _ in range(6)])
    Q0, N0 = np.zeros((3, 4)), np.zeros((3, 4))
    Q1, N1 = np.array(rng.uniform(-1, 1, (3, 4))), np.array(rng.integers(0, 3, (3, 4)), float)
    for Q, N in ((Q0, N0), (Q1, N1)):
        for experience in episodes:
            what = f"monte_carlo_update(経験 {experience}) の"
            got = call(fn, Q, N, experience, GAMMA)
            if not isinstance(got, tuple) or len(got) != 2:
                raise Wrong("(Q, N) の 2 つを返してください。")
            want_Q, want_N = monte_carlo_reference(Q, N, experience, GAMMA)
            compare(as_array(got[1], what + " N"), want_N, what + " N (回数)")
            compare(got[0], want_Q, what + " Q", [
                (monte_carlo_reference(Q, N, experience, GAMMA, forward=True)[0],
                 "1 つずれています。時点 t の G には、その一歩の報酬 r も入ります。"),
                (monte_carlo_reference(Q, N, experience, GAMMA, alpha=ALPHA)[0],
                 "一定の学習率で動かしています。この演習では 1/N(s, a) (平均) で動かします。"),
                (monte_carlo_reference(Q, N, experience, 1.0)[0], "割り引いていません (γ)。"),
            ])


def actor_critic_reference(P, V, s, a, r, n_s, terminated, mask=True, critic_first=False,
                           sign=1.0):
    P, V = P.copy(), V.copy()
    target = r if (terminated and mask) else r + GAMMA * V[n_s]
    td = sign * (target - V[s])
    if critic_first:
        V[s] += ALPHA * td
        td = target - V[s]
        P[s][a] += ALPHA * td
    else:
        P[s][a] += ALPHA * td
        V[s] += ALPHA * td
    return P, V


def check_actor_critic_update(fn, rng):
    for P, s, a, r, n_s, _, terminated in td_cases(rng):
        V = np.array([0.3, -0.2, 0.6])
        what = f"actor_critic_update({describe(s, a, r, n_s, terminated)}) の"
        got = call(fn, P, V, s, a, r, n_s, terminated, GAMMA, ALPHA)
        if not isinstance(got, tuple) or len(got) != 2:
            raise Wrong("(preferences, V) の 2 つを返してください。")
        want_P, want_V = actor_critic_reference(P, V, s, a, r, n_s, terminated)
        mistakes = [
            (actor_critic_reference(P, V, s, a, r, n_s, terminated, mask=False),
             "終わった (terminated) のに γ V(s') を足しています。"),
            (actor_critic_reference(P, V, s, a, r, n_s, terminated, sign=-1.0),
             "δ の符号が逆です: δ = (r + γ V(s')) − V(s)。"),
            (actor_critic_reference(P, V, s, a, r, n_s, terminated, critic_first=True),
             "Critic を先に更新してから Actor の δ を計算し直しています。δ は 1 回だけ求めます。"),
        ]
        compare(got[1], want_V, what + " V (Critic)",
                [(v, message) for (_, v), message in mistakes])
        compare(got[0], want_P, what + " preferences (Actor)",
                [(p, message) for (p, _), message in mistakes])


EXERCISES = [
    Exercise(DAY, 1, "epsilon_greedy", "ε-greedy 法で行動を選ぶ",
             "本書 Day3「探索と活用のトレードオフ」、EL/el_agent.py の ELAgent.policy",
             check_epsilon_greedy),
    Exercise(DAY, 2, "q_learning_update", "Q-learning の更新",
             "本書 Day3「Q-learning」、EL/q_learning.py の QLearningAgent.update",
             check_q_learning_update),
    Exercise(DAY, 3, "sarsa_update", "SARSA の更新",
             "本書 Day3「SARSA」、EL/sarsa.py の SARSAAgent.update", check_sarsa_update),
    Exercise(DAY, 4, "monte_carlo_update", "Monte Carlo 法の更新",
             "本書 Day3「Monte Carlo 法」、EL/monte_carlo.py の MonteCarloAgent.learn",
             check_monte_carlo_update),
    Exercise(DAY, 5, "actor_critic_update", "Actor-Critic の TD 誤差 δ と更新",
             "本書 Day3「Actor-Critic」、EL/actor_critic.py の ActorCritic.train",
             check_actor_critic_update),
]
