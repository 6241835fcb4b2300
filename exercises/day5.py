"""Day5 の演習: 戦略をニューラルネットワークで表す (方策勾配法・A2C) と、再現性の弱点。

各関数の中身を書き、``python -m exercises.check day5`` で検査します。
方策勾配法と A2C は本書では Day4 で学びますが、このリポジトリの ``FN/`` では Day4–5 を
一緒に扱うので、ここで続けて練習します。どれも NumPy だけで書けます。
"""


def normalized_returns(rewards, gamma):
    """演習 5-1: REINFORCE (方策勾配法) で使う、標準化した割引報酬和。

    1 エピソードの報酬から各時点の G_t = r_t + γ G_{t+1} (G_T = 0) を求め、
    平均 0・標準偏差 1 にそろえます:  (G_t − mean(G)) / std(G)
    std(G) が 0 のとき (すべて同じ値) は平均を引くだけにしてください。

    ヒント: 本書 Day4「方策勾配法」。``FN/policy_gradient_agent.py`` の
    ``PolicyGradientTrainer.make_batch``。
    """
    raise NotImplementedError("演習 5-1 を書いてください")


def policy_gradient_loss(log_probs, actions, advantages):
    """演習 5-2: 方策勾配法の損失 (1 つの数)。

    ``log_probs`` は各状態での log π(a|s) (バッチ, 行動数)、``actions`` はとった行動、
    ``advantages`` はその行動の良さ (REINFORCE なら標準化した G_t) です。
    期待値 J(θ) = E[log π(a|s) A] を**大きく**したいので、最小化する損失は符号を反転します:

        loss = − mean_i log π(a_i|s_i) A_i

    ヒント: 本書 Day4「方策勾配法」。``FN/policy_gradient_agent.py`` の
    ``PolicyGradientAgent.set_updater``。
    """
    raise NotImplementedError("演習 5-2 を書いてください")


def n_step_returns(rewards, terminated, last_value, gamma):
    """演習 5-3: A2C の n ステップの割引報酬和 (1 つの環境の n ステップ分)。

        G_t = r_t + γ (1 − d_t) G_{t+1}、  最後の先は G_n = V(s_n) (``last_value``)

    ``terminated`` (d_t) が 1 のステップでエピソードが終わり、その先の報酬も見積もりも
    足しません。n ステップで打ち切った先は、Critic の見積もり V(s_n) で補います。

    ヒント: 本書 Day4「A2C」(Advantage)。``FN/a2c_agent.py`` の ``n_step_returns``。
    """
    raise NotImplementedError("演習 5-3 を書いてください")


def a2c_loss(logits, values, actions, returns, value_loss_weight=0.5, entropy_weight=0.01):
    """演習 5-4: A2C の損失。(loss, policy_loss, value_loss, entropy) を返す。

        log π = log_softmax(logits)、 A_i = G_i − V(s_i)  (Advantage)
        policy_loss = − mean_i log π(a_i|s_i) A_i
        value_loss  = mean_i (G_i − V(s_i))²
        entropy     = mean_i (− Σ_a π(a|s_i) log π(a|s_i))
        loss = policy_loss + value_loss_weight · value_loss − entropy_weight · entropy

    エントロピーは戦略の迷い具合で、大きいほど探索します (だから損失からは**引く**)。
    logits が大きくても exp があふれない (overflow しない) よう、log_softmax は各行の
    最大値を引いてから計算します: x − max(x) − log Σ exp(x − max(x))。

    ヒント: 本書 Day4「A2C」。``FN/a2c_agent.py`` の ``actor_critic_loss``。
    """
    raise NotImplementedError("演習 5-4 を書いてください")


def seed_summary(curves):
    """演習 5-5: シードを変えた何回かの学習曲線を、平均と ± 標準偏差の帯にまとめる。

    ``curves`` は形 (シード数, 評価点の数) の配列です。評価点ごとに、シードをまたいだ
    平均 m と標準偏差 s を求め、(m, m − s, m + s) の 3 つの配列を返してください。
    深層強化学習は再現性が低い (Day5) ので、1 回の結果ではなく帯で比べます。

    ヒント: 本書 Day5「再現性が低い」。README の図 doc/day5_seeds.png、
    ``FN/notebooks/framework_and_logs.ipynb``。
    """
    raise NotImplementedError("演習 5-5 を書いてください")
