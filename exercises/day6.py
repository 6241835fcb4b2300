"""Day6 の演習: 弱点を克服する手法 — Dyna、進化戦略、DAgger、MaxEnt 逆強化学習。

各関数の中身を書き、``python -m exercises.check day6`` で検査します。
"""


def dyna_planning(Q, model, pairs, gamma, learning_rate):
    """演習 6-1: Dyna の計画 (planning): 学んだモデルの中で Q-learning の更新を重ねる。

    ``model`` は ``MM/dyna.py`` の ``Model`` です。``pairs`` の (s, a) ごとに、順番に

        r = model.reward(s, a)、 s' = model.transit(s, a)
        Q(s, a) ← Q(s, a) + α (r + γ max_a' Q(s', a') − Q(s, a))

    と更新し、Q (NumPy 配列 ``Q[s][a]``) を返してください。本物の環境は一歩も動かさず、
    モデルが覚えた経験から学びます (計算で経験を補う)。``model.simulate`` は (s, a) を
    ランダムに選びますが、ここでは検査のために ``pairs`` を使います。

    ヒント: 本書 Day6「モデルベースとの併用 (Dyna)」。``MM/dyna.py`` の
    ``DynaAgent.learn`` と ``Model``。
    """
    raise NotImplementedError("演習 6-1 を書いてください")


def centered_ranks(rewards):
    """演習 6-2: 報酬を順位に置き換え、−0.5 から 0.5 に並べる (rank shaping)。

    いちばん小さい報酬が −0.5、いちばん大きい報酬が 0.5、その間は順位に比例した等間隔の
    値です (n 個なら順位 k = 0 … n−1 を k / (n − 1) − 0.5 に)。報酬の大きさではなく
    順番だけを使うので、桁外れの 1 回に引っぱられません。

    ヒント: 本書 Day6「進化戦略」。``EV/evolution.py`` の ``EvolutionalTrainer.update``
    (こちらは報酬を標準化しています)。
    """
    raise NotImplementedError("演習 6-2 を書いてください")


def es_update(theta, noises, rewards, sigma, learning_rate):
    """演習 6-3: 進化戦略 (Evolution Strategies) の 1 回の更新。新しい θ を返す。

    n 個の候補は θ + σ ε_i (``noises[i]`` = ε_i) で、それぞれ報酬 ``rewards[i]`` を得ました。
    報酬を標準化した z_i = (R_i − mean R) / std R で、ノイズの重み付き和の方向へ進みます:

        θ ← θ + α / (n σ) Σ_i z_i ε_i

    std R が 0 (全員同じ) なら進む方向がないので θ をそのまま返してください。
    勾配を計算せず、「多くの候補から良いものに寄せる」ことで学びます。

    ヒント: 本書 Day6「進化戦略」。``EV/evolution.py`` の ``EvolutionalTrainer.update``。
    """
    raise NotImplementedError("演習 6-3 を書いてください")


def dagger_aggregate(states, actions, visited, teacher):
    """演習 6-4: DAgger のデータ集約。(states, actions) の新しいリストを返す。

    ``states``・``actions`` はこれまでに集めた (状態, 先生の行動) のリストです。
    ``visited`` は生徒が自分で動いて訪れた [(状態, 生徒が選んだ行動), …] です。
    訪れた状態それぞれに**先生** (``teacher(state)`` が行動を返す) のラベルを付け、
    これまでのデータの**後ろに足して**返します (捨てずに集め続けるのが DAgger です)。

    ヒント: 本書 Day6「模倣学習」。``IM/dagger.py`` の ``Student.imitate`` と
    ``play_and_label``。
    """
    raise NotImplementedError("演習 6-4 を書いてください")


def maxent_gradient(trajectories, policy, transition, terminal, features):
    """演習 6-5: MaxEnt 逆強化学習の勾配 (先生の特徴の出現回数 − 戦略で期待される回数)。

    - ``trajectories``: 先生の軌跡 (状態番号のリスト) のリスト。
    - ``policy``: 今の報酬で立てた戦略 π(a|s)、形 (S, A)。
    - ``transition``: T(s'|s, a)、形 (S, A, S)。 ``terminal``: 終わりの状態なら True、形 (S,)。
    - ``features``: 各状態の特徴 φ(s)、形 (S, F)。

    1. 先生: 状態ごとの訪問回数を軌跡の数で割り (平均)、``features`` を掛けます。
    2. 戦略: 最初の分布 d_0 = 軌跡の最初の状態の割合。P_π(s'|s) = Σ_a π(a|s) T(s'|s, a)
       (終わりの状態の行は 0: そこでエピソードは終わる)。d_{k+1} = d_k P_π を、いちばん長い
       軌跡の長さ H 回分 (k = 0 … H−1) 足したものが期待訪問回数です。``features`` を掛けます。
    3. 勾配 = 1 − 2 (形 (F,))。先生がよく行く特徴ほど報酬が上がります。

    ヒント: 本書 Day6「逆強化学習」。``IM/maxent.py`` の ``MaxEntIRL.estimate``、
    ``calculate_expected_feature``、``expected_features_under_policy``。
    """
    raise NotImplementedError("演習 6-5 を書いてください")
