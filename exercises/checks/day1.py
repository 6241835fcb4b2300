"""Checks of Day1: the discounted return and the value of a state under a policy (ML/)."""

from exercises.checks import Exercise, Wrong, call, compare, same
from ML.discounted_return import discounted_return_iterative
from ML.mdp import POLICY, STATES, TERMINALS, exact_values, reward_func, transit_func

DAY = 1
CASES = [([1, 1, 1, 1, 1, 1, 1, 1, 1, 10], 0.9), ([0, 0, 1], 0.5), ([2.0, -1.0], 0.0),
         ([1, 2, 3], 1.0), ([5.0], 0.9), ([], 0.9)]


def drawn_cases(rng, count=3):
    return [(rng.integers(-3, 4, size=rng.integers(2, 9)).tolist(), float(rng.uniform(0.1, 0.99)))
            for _ in range(count)]


def check_discounted_return(fn, rng):
    for rewards, gamma in CASES + drawn_cases(rng):
        what = f"discounted_return({rewards}, gamma={gamma})"
        weights_from_gamma = sum(gamma ** (k + 1) * r for k, r in enumerate(rewards))
        compare(call(fn, rewards, gamma), discounted_return_iterative(rewards, gamma), what, [
            (sum(rewards), "割り引いていません。k ステップ先の報酬に γ^k を掛けてください。"),
            (weights_from_gamma, "最初の報酬にも γ を掛けています。r_0 の重みは γ⁰ = 1 です。"),
        ])


def returns_reference(rewards, gamma):
    return [discounted_return_iterative(rewards[t:], gamma) for t in range(len(rewards))]


def check_returns_of_every_step(fn, rng):
    for rewards, gamma in CASES + drawn_cases(rng):
        what = f"returns_of_every_step({rewards}, gamma={gamma})"
        got = call(fn, rewards, gamma)
        want = returns_reference(rewards, gamma)
        forward = [discounted_return_iterative(rewards[:t + 1], gamma) for t in range(len(rewards))]
        shifted = want[1:] + [0.0]
        compare(got, want, what, [
            (forward, "G_t が t までの報酬の和になっています。G_t は t から先の報酬の和です。"),
            (shifted, "1 つずれています。G_t には r_t 自身も入ります (G_t = r_t + γ G_{t+1})。"),
        ])


def policy_reward_reference(state, policy):
    total = 0.0
    for action, action_prob in policy[state].items():
        for next_state, prob in transit_func(state, action).items():
            total += action_prob * prob * reward_func(state, next_state)
    return total


POLICIES = {"ML/mdp.py の POLICY (右 0.7・左 0.3)": POLICY,
            "いつも右 (right)": {s: {"right": 1.0} for s in POLICY},
            "いつも左 (left)": {s: {"left": 1.0} for s in POLICY}}


def check_expected_reward(fn, rng):
    for name, policy in POLICIES.items():
        for state in POLICY:
            what = f"戦略「{name}」、状態 {state} の expected_reward"
            unweighted = sum(prob * reward_func(state, n) for a in policy[state]
                             for n, prob in transit_func(state, a).items())
            compare(call(fn, state, policy), policy_reward_reference(state, policy), what, [
                (unweighted, "行動の確率 π(a|s) で重み付けしていません。"),
            ])


def check_state_values(fn, rng):
    for name, policy in POLICIES.items():
        for gamma in (0.9, 0.5):
            what = f"戦略「{name}」、γ = {gamma} の state_values"
            got = call(fn, gamma, policy)
            if not isinstance(got, dict) or set(got) != set(STATES):
                raise Wrong(f"{what}: {STATES} をキーにした辞書 {{状態: 価値}} を返してください "
                            f"(返り値: {got!r})。")
            want = exact_values(gamma, policy)
            if any(not same(got[s], 0.0) for s in TERMINALS):
                raise Wrong(f"{what}: 終わりの状態 {sorted(TERMINALS)} の価値は 0 です "
                            "(その先に報酬はありません)。")
            one_step = {s: 0.0 if s in TERMINALS else policy_reward_reference(s, policy)
                        for s in STATES}
            compare([got[s] for s in STATES], [want[s] for s in STATES],
                    f"{what} ({', '.join(STATES)} の順)", [
                        ([one_step[s] for s in STATES],
                         "1 歩分の報酬 r_π(s) だけです。γ V(s') の項を足して、変わらなくなるまで"
                         "繰り返してください。"),
                        ([exact_values(1.0, policy)[s] for s in STATES],
                         "γ を掛けていません。次の状態の価値は γ V(s') として足します。"),
                    ], atol=1e-4)


EXERCISES = [
    Exercise(DAY, 1, "discounted_return", "割引報酬和 G_0",
             "本書 Day1「割引率」、ML/discounted_return.py の discounted_return_iterative",
             check_discounted_return),
    Exercise(DAY, 2, "returns_of_every_step", "各時点の割引報酬和 G_t",
             "本書 Day1「割引率」、ML/discounted_return.py の discounted_return_recursive",
             check_returns_of_every_step),
    Exercise(DAY, 3, "expected_reward", "1 歩の報酬の期待値 r_π(s)",
             "本書 Day1「MDP の構成要素」、ML/mdp.py の exact_values (r を作るところ)",
             check_expected_reward),
    Exercise(DAY, 4, "state_values", "戦略のもとでの状態の価値 V_π(s)",
             "本書 Day1「価値」、ML/mdp.py の exact_values、"
             "ML/notebooks/discounted_return_and_mdp.ipynb", check_state_values),
]
