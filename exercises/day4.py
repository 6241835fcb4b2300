"""Day4 の演習: 価値をニューラルネットワークで表す — DQN の学習の要。

各関数の中身を書き、``python -m exercises.check day4`` で検査します。
どれも NumPy だけで書けます (ネットワークは「状態の配列 → 行動価値の配列」の関数として渡します)。
"""


def linear_epsilon(step, initial_epsilon, final_epsilon, decay_steps):
    """演習 4-1: ステップ数に応じて小さくなる ε (探索の割合)。

    ε は ``step`` = 0 で ``initial_epsilon``、そこから直線的に下がり、``step`` =
    ``decay_steps`` で ``final_epsilon`` になり、その後はずっと ``final_epsilon`` のままです。
    はじめは探索を多く、学ぶにつれて活用を多くします。

    ヒント: 本書 Day4「DQN」。``FN/dqn_agent.py`` の ``DeepQNetworkTrainer`` (ε の減らし方)。
    """
    raise NotImplementedError("演習 4-1 を書いてください")


def dqn_targets(rewards, next_states, terminals, gamma, online_q, target_q):
    """演習 4-2: DQN の学習の目標 (TD ターゲット) をバッチで計算する。

        y_i = r_i + γ (1 − d_i) max_a' Q_target(s'_i, a')

    ``online_q(states)`` は学習中のネットワーク、``target_q(states)`` は更新を止めた
    コピー (Fixed Target Q-Network) で、どちらも形 (バッチ, 行動数) の行動価値を返します。
    ``terminals`` (d_i) は終わりなら 1、続くなら 0 です。形 (バッチ,) の配列を返してください。

    ヒント: 本書 Day4「DQN」(Fixed Target Q-Network)。``FN/dqn_agent.py`` の
    ``DeepQNetworkAgent.set_updater`` (``targets`` を作るところ)。
    """
    raise NotImplementedError("演習 4-2 を書いてください")


def huber(errors, delta=1.0):
    """演習 4-3: Huber 損失を要素ごとに。

        |e| ≤ δ のとき ½ e²、  |e| > δ のとき δ (|e| − ½ δ)

    誤差が小さいうちは二乗誤差、大きくなると直線になり、大きな誤差に引っぱられすぎません
    (本書の「報酬のクリッピング」と同じ狙い)。``errors`` と同じ形の配列を返してください。

    ヒント: 本書 Day4「DQN」。``FN/dqn_agent.py`` の ``set_updater`` が使う
    ``keras.losses.huber`` (その平均) と同じ式です。
    """
    raise NotImplementedError("演習 4-3 を書いてください")


def dqn_loss(q_values, actions, targets, delta=1.0):
    """演習 4-4: DQN の損失 (1 つの数)。

    ``q_values`` は学習中のネットワークの出力 (バッチ, 行動数)、``actions`` は各経験で
    実際にとった行動です。とった行動の Q(s_i, a_i) と目標 y_i の差に Huber 損失をかけ、
    バッチで平均します:  mean_i huber(y_i − Q(s_i, a_i))

    ヒント: 本書 Day4「DQN」。``FN/dqn_agent.py`` の ``set_updater`` (``taken`` と ``loss``)。
    """
    raise NotImplementedError("演習 4-4 を書いてください")
