"""Checks of Day2: Bellman backups, value iteration, greedy policy, policy evaluation (DP/)."""

from DP.environment import SAMPLE_GRID, Environment
from DP.planner import Planner, PolicyIterationPlanner, ValueIterationPlanner
from exercises.checks import Exercise, Wrong, call, compare, same

DAY = 2
GRIDS = [(SAMPLE_GRID, 0.8), ([[0, 0, 0, 0], [0, 9, -1, 0], [0, 0, 0, 1]], 0.6)]


def environments():
    return [Environment(grid, move_prob=move_prob) for grid, move_prob in GRIDS]


def q_reference(env, V, s, a, gamma, with_reward=True, discount=True):
    """Σ_s' T(s'|s,a) (R(s') + γ V(s')), from the book's planner; the flags give mistakes."""
    return sum(prob * ((reward if with_reward else 0.0) + (gamma if discount else 1.0) * V[n])
               for prob, n, reward in Planner(env).transitions_at(s, a))


def drawn_values(env, rng):
    return {s: float(rng.uniform(-1, 1)) if env.can_action_at(s) else 0.0 for s in env.states}


def as_list(env, V, what):
    if not isinstance(V, dict) or any(s not in V for s in env.states):
        raise Wrong(f"{what}: すべての env.states をキーにした辞書 {{State: 価値}} を"
                    "返してください。")
    return [V[s] for s in env.states]


def optimal_values(env, gamma):
    grid = ValueIterationPlanner(env).plan(gamma=gamma, threshold=1e-8)
    return {s: grid[s.row][s.column] for s in env.states}


def check_action_value(fn, rng):
    for env in environments():
        for V in ({s: 0.0 for s in env.states}, drawn_values(env, rng)):
            for s in [s for s in env.states if env.can_action_at(s)][:6]:
                for a in env.actions:
                    what = f"状態 {s}、行動 {a.name} の action_value"
                    compare(call(fn, env, V, s, a, 0.9), q_reference(env, V, s, a, 0.9), what, [
                        (q_reference(env, V, s, a, 0.9, with_reward=False),
                         "着いたマスの報酬 R(s') を足していません。"),
                        (q_reference(env, V, s, a, 0.9, discount=False),
                         "次の状態の価値に割引率 γ を掛けていません。"),
                    ])


def sweep_reference(env, V, gamma, in_place=False):
    new_V = dict(V)
    for s in env.states:
        if env.can_action_at(s):
            source = new_V if in_place else V
            new_V[s] = max(q_reference(env, source, s, a, gamma) for a in env.actions)
        else:
            new_V[s] = 0.0
    return new_V


def check_value_iteration_sweep(fn, rng):
    for env in environments():
        starts = [{s: 0.0 for s in env.states}, drawn_values(env, rng)]
        starts.append({s: 0.5 for s in env.states})  # a wrong start: the end cells must reset
        for V in starts:
            what = f"迷路 {env.grid} の value_iteration_sweep"
            want = sweep_reference(env, V, 0.9)
            got = as_list(env, call(fn, env, V, 0.9), what)
            ends = [i for i, s in enumerate(env.states) if not env.can_action_at(s)]
            if not all(same(got[i], 0.0) for i in ends):
                raise Wrong(f"{what}: 終わりのマス (宝・危険) の価値は 0 にしてください。")
            compare(got, [want[s] for s in env.states], what + " (env.states の順)", [
                ([sweep_reference(env, V, 0.9, in_place=True)[s] for s in env.states],
                 "同じ回の中で更新した値を右辺に使っています。前の V だけを使ってください。"),
            ])
        # Repeated sweeps must reach the planner's fixed point.
        V = {s: 0.0 for s in env.states}
        for sweeps in range(1, 301):  # noqa: B007 (the count goes in the message)
            previous, V = V, fn(env, V, 0.9)
            if max(abs(V[s] - previous[s]) for s in env.states) < 1e-7:
                break
        want = optimal_values(env, 0.9)
        compare(as_list(env, V, "繰り返した結果"), [want[s] for s in env.states],
                f"{sweeps} 回繰り返した価値と ValueIterationPlanner.plan の価値", atol=1e-4)


def check_greedy_policy(fn, rng):
    for env in environments():
        for V in (optimal_values(env, 0.9), drawn_values(env, rng)):
            got = call(fn, env, V, 0.9)
            acting = [s for s in env.states if env.can_action_at(s)]
            if not isinstance(got, dict) or set(got) != set(acting):
                raise Wrong("行動できるマス (env.can_action_at(s) が True) だけをキーにした辞書 "
                            "{State: Action} を返してください。")
            for s in acting:
                values = {a: q_reference(env, V, s, a, 0.9) for a in env.actions}
                best = max(values.values())
                if got[s] not in values:
                    raise Wrong(f"状態 {s}: {got[s]!r} は Action ではありません。")
                if values[got[s]] < best - 1e-9:
                    worst = min(values.values())
                    hint = (" 最小を選んでいます (max と min の取り違え)。"
                            if same(values[got[s]], worst) else "")
                    best_name = max(values, key=values.get).name
                    raise Wrong(f"状態 {s}: {got[s].name} の行動価値は {values[got[s]]:.4f} "
                                f"ですが、{best_name} は {best:.4f} です。{hint}")


def evaluation_reference(env, policy, gamma, take_max=False):
    values = {s: 0.0 for s in env.states}
    for _ in range(1000):
        new = {}
        for s in env.states:
            terms = [p * q_reference(env, values, s, a, gamma) for a, p in policy[s].items()]
            new[s] = (max(terms) if take_max else sum(terms)) if env.can_action_at(s) else 0.0
        done = max(abs(new[s] - values[s]) for s in env.states) < 1e-9
        values = new
        if done:
            break
    return values


def policies(env):
    uniform = {s: {a: 0.25 for a in env.actions} for s in env.states}
    up = {s: {a: 1.0 if a.name == "UP" else 0.0 for a in env.actions} for s in env.states}
    right = {s: {a: 0.7 if a.name == "RIGHT" else 0.1 for a in env.actions} for s in env.states}
    return {"一様 (どの行動も 0.25)": uniform, "いつも上 (UP)": up, "右 0.7・他 0.1": right}


def check_policy_evaluation(fn, rng):
    for env in environments():
        for name, policy in policies(env).items():
            what = f"迷路 {env.grid}、戦略「{name}」の policy_evaluation"
            got = as_list(env, call(fn, env, policy, 0.9, 1e-8), what)
            planner = PolicyIterationPlanner(env)
            planner.policy = policy
            want = planner.estimate_by_policy(0.9, 1e-9)
            with_max = evaluation_reference(env, policy, 0.9, take_max=True)
            compare(got, [want[s] for s in env.states], what + " (env.states の順)", [
                ([with_max[s] for s in env.states],
                 "行動について max をとっています。戦略の価値は π(a|s) で重み付けした和です。"),
            ], atol=1e-4)


EXERCISES = [
    Exercise(DAY, 1, "action_value", "行動価値 Σ T (R + γV)",
             "本書 Day2「Bellman 方程式」、DP/planner.py の Planner.transitions_at",
             check_action_value),
    Exercise(DAY, 2, "value_iteration_sweep", "価値反復法の 1 回の更新",
             "本書 Day2「価値反復法」、DP/planner.py の ValueIterationPlanner.plan、"
             "DP/notebooks/dynamic_programming.ipynb", check_value_iteration_sweep),
    Exercise(DAY, 3, "greedy_policy", "価値に対して貪欲な戦略",
             "本書 Day2「価値反復法」、DP/planner.py の PolicyIterationPlanner.plan",
             check_greedy_policy),
    Exercise(DAY, 4, "policy_evaluation", "戦略の評価 V_π",
             "本書 Day2「方策反復法」、DP/planner.py の PolicyIterationPlanner.estimate_by_policy",
             check_policy_evaluation),
]
