"""Day3 の演習: 経験から学ぶ — 探索と活用、TD 法と Monte Carlo 法、Actor-Critic。

各関数の中身を書き、``python -m exercises.check day3`` で検査します。
``Q`` は行動価値の表 (NumPy 配列、``Q[s][a]``)、``V`` は状態の価値の配列です。
更新する関数は、更新した表を返してください (その場で書き換えてもかまいません)。
"""


def epsilon_greedy(q_values, epsilon, rng):
    """演習 3-1: ε-greedy 法で行動 (番号) を 1 つ選ぶ。

    確率 ε で**すべての行動**から一様にランダムに選び (探索)、それ以外は ``q_values`` が
    最大の行動を選びます (活用)。乱数は ``rng`` (``numpy.random.Generator``) から
    引いてください: ``rng.random()`` は [0, 1) の数、``rng.integers(n)`` は 0 … n-1 の整数。

    ヒント: 本書 Day3「探索と活用のトレードオフ」。``EL/el_agent.py`` の ``ELAgent.policy``、
    ``EL/epsilon_greedy.py``。
    """
    raise NotImplementedError("演習 3-1 を書いてください")


def q_learning_update(Q, s, a, reward, n_state, terminated, gamma, learning_rate):
    """演習 3-2: Q-learning の 1 回の更新 (TD 法、Off-policy)。

        Q(s, a) ← Q(s, a) + α (r + γ max_a' Q(s', a') − Q(s, a))

    ``terminated`` (穴やゴールで終わった) なら s' の先はないので、目標は r だけです。

    ヒント: 本書 Day3「Q-learning」。``EL/q_learning.py`` の ``QLearningAgent.update``。
    """
    raise NotImplementedError("演習 3-2 を書いてください")


def sarsa_update(Q, s, a, reward, n_state, n_action, terminated, gamma, learning_rate):
    """演習 3-3: SARSA の 1 回の更新 (TD 法、On-policy)。

        Q(s, a) ← Q(s, a) + α (r + γ Q(s', a') − Q(s, a))

    a' (``n_action``) は戦略が実際に次に選んだ行動です。終わりなら目標は r だけです。

    ヒント: 本書 Day3「SARSA」。``EL/sarsa.py`` の ``SARSAAgent.update``。
    """
    raise NotImplementedError("演習 3-3 を書いてください")


def monte_carlo_update(Q, N, experience, gamma):
    """演習 3-4: Monte Carlo 法: 終わったエピソード 1 つで Q を更新し、(Q, N) を返す。

    ``experience`` は [(s_0, a_0, r_1), (s_1, a_1, r_2), …] (最後は終わりの手前の一歩)。
    後ろから G ← r + γ G (最初は G = 0) で各時点の割引報酬和を求め、その時点の (s, a) を

        N(s, a) ← N(s, a) + 1,   Q(s, a) ← Q(s, a) + (G − Q(s, a)) / N(s, a)

    で更新します (Q は出会った G の平均になります)。

    ヒント: 本書 Day3「Monte Carlo 法」。``EL/monte_carlo.py`` の ``MonteCarloAgent.learn``。
    """
    raise NotImplementedError("演習 3-4 を書いてください")


def actor_critic_update(preferences, V, s, a, reward, n_state, terminated, gamma, learning_rate):
    """演習 3-5: Actor-Critic の 1 回の更新。(preferences, V) を返す。

    Critic の見積もりとの差 (TD 誤差) を 1 つ求め、Actor と Critic の両方をそれで動かします:

        δ = r + γ V(s') − V(s)   (終わりなら δ = r − V(s))
        preferences(s, a) ← preferences(s, a) + α δ      (Actor: 行動の好み)
        V(s) ← V(s) + α δ                                 (Critic: 状態の価値)

    ヒント: 本書 Day3「Actor-Critic」。``EL/actor_critic.py`` の ``ActorCritic.train``。
    """
    raise NotImplementedError("演習 3-5 を書いてください")
