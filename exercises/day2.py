"""Day2 の演習: Bellman 方程式と動的計画法 (価値反復法・方策反復法)。

各関数の中身を書き、``python -m exercises.check day2`` で検査します。
舞台は ``DP/environment.py`` の迷路 ``Environment`` です。使う名前:

- ``env.states``: 行動できるマスと終わりのマス (``State``)。``env.actions``: 4 つの ``Action``。
- ``env.can_action_at(s)``: s で行動できるか (宝 (Treasure) と危険 (Danger) のマスでは終わり)。
- ``env.transit_func(s, a)``: {次の状態: 確率} (遷移関数 T(s'|s, a))。
- ``env.reward_func(s')``: (着いたマスの報酬 R(s'), 終わりか)。
- 価値 ``V`` は {State: 価値} の辞書です。
"""


def action_value(env, V, state, action, gamma):
    """演習 2-1: 状態 s で行動 a をとったときの価値の期待値 (行動価値)。

        Σ_s' T(s'|s, a) (R(s') + γ V(s'))

    ヒント: 本書 Day2「Bellman 方程式」。``DP/planner.py`` の ``Planner.transitions_at`` は
    (確率, 次の状態, 報酬) を 1 つずつ返します。
    """
    raise NotImplementedError("演習 2-1 を書いてください")


def value_iteration_sweep(env, V, gamma):
    """演習 2-2: 価値反復法 (Value Iteration) の 1 回分の更新。新しい辞書を返す。

        V_new(s) = max_a Σ_s' T(s'|s, a) (R(s') + γ V(s'))

    すべての ``env.states`` について計算します。右辺では**前の** ``V`` だけを使ってください
    (同じ回で更新した値は使わない)。行動できないマス (終わりのマス) の価値は 0 のままです。
    この更新を変わらなくなるまで繰り返すと、最適な価値になります。

    ヒント: 本書 Day2「価値反復法」。``DP/planner.py`` の ``ValueIterationPlanner.plan``
    (こちらは同じ回の値をすぐ使う書き方ですが、行き着く先は同じです)。
    """
    raise NotImplementedError("演習 2-2 を書いてください")


def greedy_policy(env, V, gamma):
    """演習 2-3: 価値 V に対して貪欲な戦略を {State: Action} で返す。

    行動できるマス (``env.can_action_at(s)``) ごとに、演習 2-1 の行動価値が最大の行動を
    選びます (同点ならどれでもかまいません)。終わりのマスは入れません。

    ヒント: 本書 Day2「価値反復法」(価値 = 戦略)。``DP/planner.py`` の
    ``PolicyIterationPlanner.plan`` の ``take_max_action``。
    """
    raise NotImplementedError("演習 2-3 を書いてください")


def policy_evaluation(env, policy, gamma, threshold=1e-6):
    """演習 2-4: 方策反復法の「戦略の評価」: 戦略 π のもとでの価値 V_π を返す。

        V(s) ← Σ_a π(a|s) Σ_s' T(s'|s, a) (R(s') + γ V(s'))

    ``policy`` は {State: {Action: 確率}} です。すべての ``env.states`` について、
    V の変化の最大が ``threshold`` 未満になるまで繰り返してください (最初は V = 0)。

    ヒント: 本書 Day2「方策反復法」。``DP/planner.py`` の
    ``PolicyIterationPlanner.estimate_by_policy``。
    """
    raise NotImplementedError("演習 2-4 を書いてください")
