"""The exercises' checks: each passes the model answer, and rejects wrong answers, naming the
mistake where the check knows it. The learner's blank functions are reported as not written."""

import ast
import importlib
import types
from pathlib import Path

import numpy as np
import pytest

from exercises import check
from tests.option_checks import assert_refused

ROOT = Path(__file__).resolve().parent.parent.parent


def solutions(day):
    return importlib.import_module(f"exercises.solutions.{day}")


def exercise(day, name):
    return next(e for e in check.exercises_of(day) if e.name == name)


def with_answer(day, name, answer):
    """The model answers of ``day``, with ``name`` replaced by ``answer``."""
    module = types.SimpleNamespace(**vars(solutions(day)))
    setattr(module, name, answer)
    return module


def backwards(rewards, gamma, terminated=None, last=0.0):
    out, following = np.zeros(len(rewards)), last
    for t in reversed(range(len(rewards))):
        done = 0.0 if terminated is None else terminated[t]
        following = rewards[t] + gamma * (1 - done) * following
        out[t] = following
    return out


def q_update(Q, s, a, target, alpha):
    Q[s][a] += alpha * (target - Q[s][a])
    return Q


def policy_value_with_max(env, policy, gamma, threshold=1e-6):
    # The book's original evaluation: the max over the policy's weighted actions.
    from exercises.solutions.day2 import action_value
    V = {s: 0.0 for s in env.states}
    for _ in range(500):
        V = {s: max(p * action_value(env, V, s, a, gamma) for a, p in policy[s].items())
             if env.can_action_at(s) else 0.0 for s in env.states}
    return V


def sweep_in_place(env, V, gamma):
    from exercises.solutions.day2 import action_value
    V = dict(V)
    for s in env.states:
        V[s] = max(action_value(env, V, s, a, gamma) for a in env.actions) \
            if env.can_action_at(s) else 0.0
    return V


def monte_carlo_shifted(Q, N, experience, gamma):
    # G of step t without its own reward: the returns shifted by one.
    returns = list(backwards([r for _, _, r in experience], gamma)[1:]) + [0.0]
    for (s, a, _), G in zip(experience, returns):
        N[s][a] += 1
        Q[s][a] += (G - Q[s][a]) / N[s][a]
    return Q, N


def a2c_plus_entropy(logits, values, actions, returns, value_loss_weight=0.5,
                     entropy_weight=0.01):
    loss, policy, value, entropy = solutions("day5").a2c_loss(
        logits, values, actions, returns, value_loss_weight, entropy_weight)
    return loss + 2 * entropy_weight * entropy, policy, value, entropy


def a2c_overflowing(logits, values, actions, returns, value_loss_weight=0.5,
                    entropy_weight=0.01):
    with np.errstate(all="ignore"):  # exp(1000) overflows: the mistake the check must catch
        probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        log_probs = np.log(probs)
        entropy = np.mean(-np.sum(probs * log_probs, axis=1))
    a = returns - values
    policy = -np.mean(log_probs[np.arange(len(actions)), actions] * a)
    value = np.mean((returns - values) ** 2)
    return policy + value_loss_weight * value - entropy_weight * entropy, policy, value, entropy


def standardized_by_zero(rewards, gamma):
    returns = backwards(rewards, gamma)
    with np.errstate(all="ignore"):  # std 0 gives nan: the mistake the check must catch
        return (returns - returns.mean()) / returns.std()


def maxent_no_terminal(trajectories, policy, transition, terminal, features):
    return solutions("day6").maxent_gradient(trajectories, policy, transition,
                                             np.zeros_like(terminal), features)


# (day, function, a wrong answer, a fragment the check's message must hold: the mistake named)
WRONG = [
    ("day1", "discounted_return", lambda rewards, gamma: float(sum(rewards)), "割り引いていません"),
    ("day1", "discounted_return",
     lambda rewards, gamma: sum(gamma ** (k + 1) * r for k, r in enumerate(rewards)), "γ⁰ = 1"),
    ("day1", "returns_of_every_step",
     lambda rewards, gamma: [sum(gamma ** k * r for k, r in enumerate(rewards[:t + 1]))
                             for t in range(len(rewards))], "先"),
    ("day1", "returns_of_every_step",
     lambda rewards, gamma: list(backwards(rewards, gamma)[1:]) + [0.0], "ずれて"),
    ("day1", "expected_reward",
     lambda state, policy: solutions("day1").expected_reward(
         state, {s: {a: 1.0 for a in p} for s, p in policy.items()}), "π(a|s)"),
    ("day1", "state_values",
     lambda gamma, policy: solutions("day1").state_values(1.0, policy), "γ"),
    ("day1", "state_values",
     lambda gamma, policy: {s: (0.0 if s in ("pit", "goal") else
                                solutions("day1").expected_reward(s, policy))
                            for s in ("pit", "s1", "s2", "s3", "goal")}, "1 歩分"),
    ("day1", "state_values",
     lambda gamma, policy: {**solutions("day1").state_values(gamma, policy), "goal": 1.0},
     "終わりの状態"),
    ("day2", "action_value",
     lambda env, V, s, a, gamma: sum(p * gamma * V[n] for n, p in env.transit_func(s, a).items()),
     "R(s')"),
    ("day2", "action_value",
     lambda env, V, s, a, gamma: sum(p * (env.reward_func(n)[0] + V[n])
                                     for n, p in env.transit_func(s, a).items()), "γ"),
    ("day2", "value_iteration_sweep", sweep_in_place, "同じ回"),
    ("day2", "value_iteration_sweep",
     lambda env, V, gamma: {s: max(solutions("day2").action_value(env, V, s, a, gamma)
                                   for a in env.actions) if env.can_action_at(s) else V[s]
                            for s in env.states}, "終わりのマス"),
    ("day2", "greedy_policy",
     lambda env, V, gamma: {s: min(env.actions, key=lambda a, s=s: solutions("day2").action_value(
         env, V, s, a, gamma)) for s in env.states if env.can_action_at(s)}, "最小"),
    ("day2", "greedy_policy",
     lambda env, V, gamma: {s: env.actions[0] for s in env.states}, "辞書"),
    ("day2", "policy_evaluation", policy_value_with_max, "max"),
    ("day3", "epsilon_greedy",
     lambda q, epsilon, rng: int(np.argmax(q)) if rng.random() < epsilon
     else int(rng.integers(len(q))), "逆"),
    ("day3", "epsilon_greedy", lambda q, epsilon, rng: int(np.argmax(q)), "ε"),
    ("day3", "epsilon_greedy",
     lambda q, epsilon, rng: int(rng.choice([a for a in range(len(q)) if a != np.argmax(q)]))
     if rng.random() < epsilon else int(np.argmax(q)), "除いて"),
    ("day3", "q_learning_update",
     lambda Q, s, a, r, n, done, gamma, alpha: q_update(Q, s, a, r + gamma * Q[n].max(), alpha),
     "終わった"),
    ("day3", "q_learning_update",
     lambda Q, s, a, r, n, done, gamma, alpha: q_update(
         Q, s, a, r if done else r + gamma * Q[n].max(), -alpha), "符号"),
    ("day3", "q_learning_update",
     lambda Q, s, a, r, n, done, gamma, alpha: q_update(
         Q, s, a, r if done else r + gamma * Q[n].max(), 1.0), "学習率"),
    ("day3", "sarsa_update",
     lambda Q, s, a, r, n, n_a, done, gamma, alpha: q_update(
         Q, s, a, r if done else r + gamma * Q[n].max(), alpha), "Q-learning"),
    ("day3", "sarsa_update",
     lambda Q, s, a, r, n, n_a, done, gamma, alpha: q_update(Q, s, a, r + gamma * Q[n][n_a],
                                                             alpha), "終わった"),
    ("day3", "monte_carlo_update", monte_carlo_shifted, "ずれて"),
    ("day3", "monte_carlo_update",
     lambda Q, N, experience, gamma: (solutions("day3").monte_carlo_update(
         Q, N.copy(), experience, gamma)[0], N), "N"),
    ("day3", "monte_carlo_update",
     lambda Q, N, experience, gamma: solutions("day3").monte_carlo_update(Q, N, experience, 1.0),
     "割り引いて"),
    ("day3", "actor_critic_update",
     lambda P, V, s, a, r, n, done, gamma, alpha: solutions("day3").actor_critic_update(
         P, V, s, a, r, n, False, gamma, alpha), "終わった"),
    ("day3", "actor_critic_update",
     lambda P, V, s, a, r, n, done, gamma, alpha: solutions("day3").actor_critic_update(
         P, V, s, a, r, n, done, gamma, -alpha), "符号"),
    ("day4", "linear_epsilon",
     lambda step, initial, final, decay: initial + step / decay * (final - initial), "過ぎても"),
    ("day4", "dqn_targets",
     lambda r, n, d, gamma, online, target: r + gamma * (1 - d) * online(n).max(axis=1),
     "online_q"),
    ("day4", "dqn_targets",
     lambda r, n, d, gamma, online, target: r + gamma * target(n).max(axis=1), "(1 − d)"),
    ("day4", "huber", lambda e, delta=1.0: 0.5 * np.square(e), "いつも"),
    ("day4", "huber",
     lambda e, delta=1.0: np.where(np.abs(e) <= delta, 0.5 * e ** 2, delta * np.abs(e)), "½ δ"),
    ("day4", "dqn_loss",
     lambda q, actions, targets, delta=1.0: float(np.mean(
         solutions("day4").huber(targets - q.max(axis=1), delta))), "最大"),
    ("day4", "dqn_loss",
     lambda q, actions, targets, delta=1.0: float(np.mean(
         (targets - q[np.arange(len(actions)), actions]) ** 2)), "二乗"),
    ("day5", "normalized_returns", lambda rewards, gamma: backwards(rewards, gamma), "標準化"),
    ("day5", "normalized_returns", standardized_by_zero, "nan"),
    ("day5", "policy_gradient_loss",
     lambda log_probs, actions, adv: -solutions("day5").policy_gradient_loss(
         log_probs, actions, adv), "符号"),
    ("day5", "n_step_returns",
     lambda rewards, terminated, last, gamma: backwards(rewards, gamma, terminated), "V(s_n)"),
    ("day5", "n_step_returns",
     lambda rewards, terminated, last, gamma: backwards(rewards, gamma, None, last), "終わった"),
    ("day5", "a2c_loss", a2c_plus_entropy, "エントロピー"),
    ("day5", "a2c_loss",
     lambda logits, values, actions, returns, vw=0.5, ew=0.01: solutions("day5").a2c_loss(
         logits, np.zeros_like(values), actions, returns, vw, ew), "a2c_loss"),
    ("day5", "a2c_loss", a2c_overflowing, "あふれて"),
    ("day5", "seed_summary",
     lambda curves: (curves.mean(axis=1),) * 3, "軸"),
    ("day6", "dyna_planning",
     lambda Q, model, pairs, gamma, alpha: [q_update(Q, s, a, gamma * Q[model.transit(s, a)].max(),
                                                     alpha) for s, a in pairs][-1], "報酬"),
    ("day6", "dyna_planning",
     lambda Q, model, pairs, gamma, alpha: Q, "dyna_planning"),
    ("day6", "centered_ranks",
     lambda rewards: np.argsort(rewards) / (len(rewards) - 1) - 0.5, "argsort"),
    ("day6", "centered_ranks",
     lambda rewards: -solutions("day6").centered_ranks(rewards), "逆"),
    ("day6", "es_update",
     lambda theta, noises, rewards, sigma, alpha: solutions("day6").es_update(
         theta, noises, rewards, 1.0, alpha), "σ"),
    ("day6", "es_update",
     lambda theta, noises, rewards, sigma, alpha: theta + alpha / (len(rewards) * sigma)
     * np.tensordot(rewards - rewards.mean(), noises, axes=1), "標準偏差"),
    ("day6", "dagger_aggregate",
     lambda states, actions, visited, teacher: ([s for s, _ in visited],
                                                [teacher(s) for s, _ in visited]), "捨てて"),
    ("day6", "dagger_aggregate",
     lambda states, actions, visited, teacher: (states + [s for s, _ in visited],
                                                actions + [a for _, a in visited]), "生徒"),
    ("day6", "maxent_gradient",
     lambda *args: -solutions("day6").maxent_gradient(*args), "符号"),
    ("day6", "maxent_gradient", maxent_no_terminal, "終わりの状態"),
]


@pytest.mark.parametrize("day", check.DAYS)
def test_every_day_has_three_to_five_exercises_written_blank_and_answered_apart(day):
    exercises = check.exercises_of(day)
    assert 3 <= len(exercises) <= 5
    assert [e.number for e in exercises] == list(range(1, len(exercises) + 1))
    blank = check.learner_module(day)
    results = check.run_day(day, blank)
    assert [r.status for r in results] == ["todo"] * len(exercises)
    for e in exercises:
        doc = getattr(blank, e.name).__doc__
        assert f"演習 {e.label}" in doc and "ヒント" in doc
    # Solutions are kept apart: the learner's file neither imports nor holds them.
    source = (ROOT / "exercises" / f"{day}.py").read_text(encoding="utf-8")
    assert "solutions" not in source
    bodies = [node.body[-1] for node in ast.walk(ast.parse(source))
              if isinstance(node, ast.FunctionDef)]
    assert all(isinstance(body, ast.Raise) for body in bodies)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("day", check.DAYS)
def test_the_model_answers_pass_every_check(day, seed):
    results = check.run_day(day, solutions(day), seed)
    assert [(r.exercise.name, r.status, r.message) for r in results if not r.passed] == []


@pytest.mark.parametrize(("day", "name", "answer", "named"), WRONG,
                         ids=[f"{day}-{name}-{i}" for i, (day, name, _, _) in enumerate(WRONG)])
def test_a_wrong_answer_is_rejected_with_what_is_wrong(day, name, answer, named):
    result = check.run_exercise(exercise(day, name), with_answer(day, name, answer))
    assert result.status in ("wrong", "error")
    assert named in result.message


def test_every_exercise_has_wrong_answers_that_its_check_rejects():
    covered = {(day, name) for day, name, _, _ in WRONG}
    assert covered == {(day, e.name) for day in check.DAYS for e in check.exercises_of(day)}


def test_an_answer_that_raises_is_reported_not_crashed():
    def broken(rewards, gamma):
        return rewards[100]

    result = check.run_exercise(exercise("day1", "discounted_return"),
                                with_answer("day1", "discounted_return", broken))
    assert result.status == "error" and "IndexError" in result.message


def test_the_command_reports_in_japanese_with_exit_status(capsys):
    assert check.main(["day1"]) == 1
    out = capsys.readouterr().out
    assert "… 演習 1-1 discounted_return" in out and "0 / 4 問 正解" in out
    assert check.main(["--all", "--solutions"]) == 0
    out = capsys.readouterr().out
    assert out.count("✓") == sum(len(check.exercises_of(day)) for day in check.DAYS)
    assert "すべて正解です" in out


def test_a_wrong_answer_prints_where_to_look(capsys, monkeypatch):
    wrong = with_answer("day4", "dqn_targets",
                        lambda r, n, d, gamma, online, target: r + gamma * online(n).max(axis=1))
    monkeypatch.setattr(check, "learner_module", lambda day, solutions=False: wrong)
    assert check.main(["day4"]) == 1
    out = capsys.readouterr().out
    assert "✗ 演習 4-2 dqn_targets" in out and "読むところ: 本書 Day4" in out


@pytest.mark.parametrize(("argv", "mentions"), [(["day9"], "day9"), ([], "--all"),
                                                (["day1", "--seed", "-1"], "--seed")])
def test_bad_arguments_end_with_one_sentence(argv, mentions, capsys):
    assert_refused(check.main, argv, capsys, mentions)
