"""Day1 の演習: 割引報酬和と、戦略のもとでの状態の価値。

各関数の中身を書き、``python -m exercises.check day1`` で検査します。
舞台は ``ML/mdp.py`` の 1 列の通路です (pit | s1 | s2 | s3 | goal)。
"""

from ML.mdp import ACTIONS, STATES, TERMINALS, reward_func, transit_func  # noqa: F401


def discounted_return(rewards, gamma):
    """演習 1-1: 割引報酬和 G_0 (discounted return)。

    報酬の列 ``rewards`` = [r_0, r_1, …, r_{T-1}] と割引率 ``gamma`` から

        G_0 = r_0 + γ r_1 + γ² r_2 + … = Σ_k γ^k r_k

    を返してください。報酬が 1 つもなければ 0 です。

    ヒント: 本書 Day1「割引率」。``ML/discounted_return.py`` の ``discounted_return_iterative``。
    最初の報酬の重みは γ⁰ = 1 です。
    """
    raise NotImplementedError("演習 1-1 を書いてください")


def returns_of_every_step(rewards, gamma):
    """演習 1-2: すべての時点 t の割引報酬和 G_t を並べたリスト。

    G_t = r_t + γ r_{t+1} + γ² r_{t+2} + …  を t = 0, 1, …, T-1 について返してください
    (長さは ``rewards`` と同じ)。再帰 G_t = r_t + γ G_{t+1} (最後の後は G_T = 0) を使うと、
    後ろから 1 回なめるだけで全部求まります。

    ヒント: 本書 Day1「割引率」、Day2「Bellman 方程式」(再帰の形)。
    ``ML/discounted_return.py`` の ``discounted_return_recursive``。
    """
    raise NotImplementedError("演習 1-2 を書いてください")


def expected_reward(state, policy):
    """演習 1-3: 戦略 π に従って 1 歩動いたときにもらえる報酬の期待値 r_π(s)。

        r_π(s) = Σ_a π(a|s) Σ_s' T(s'|s, a) R(s, s')

    ``policy[state]`` は {行動: 確率}、``transit_func(state, action)`` は {次の状態: 確率}、
    ``reward_func(state, next_state)`` は即時報酬です (どれも ``ML/mdp.py``)。

    ヒント: 本書 Day1「MDP の構成要素」。期待値は「確率 × 値」の和です。
    ``ML/mdp.py`` の ``exact_values`` の中で r を作るところ。
    """
    raise NotImplementedError("演習 1-3 を書いてください")


def state_values(gamma, policy):
    """演習 1-4: 戦略 π のもとでの各状態の価値 V_π(s) を {状態: 価値} で返す。

        V_π(s) = Σ_a π(a|s) Σ_s' T(s'|s, a) (R(s, s') + γ V_π(s'))

    終わりの状態 (``TERMINALS``: pit と goal) の価値は 0 です。``STATES`` のすべてを
    キーにしてください。解き方は自由です: 右辺で V を何度も更新し直す (Day2 の方法) か、
    連立一次方程式 (I − γ P_π) V = r_π を ``np.linalg.solve`` で解く (``ML/mdp.py``) か。

    ヒント: 本書 Day1「価値 (Value)」。``ML/mdp.py`` の ``exact_values``、
    ノートブック ``ML/notebooks/discounted_return_and_mdp.ipynb``。
    """
    raise NotImplementedError("演習 1-4 を書いてください")
