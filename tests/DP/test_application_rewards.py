"""The simulator's API beyond the book: rewards on any cell, Policy Iteration sweep by sweep,
the model the page's agent walks with, warnings, and one answer from the page and the CLI."""

import json
import re
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from DP import plan_answer
from DP import vectorized_planner as planner
from DP.application import solve
from DP.environment import ACTIONS
from DP.plan_answer import THRESHOLD
from DP.plan_request import PlanRequest
from DP.vectorized_planner import (
    REWARD_LIMIT,
    Environment,
    PolicyIterationPlanner,
    ValueIterationPlanner,
    backup,
    policy_evaluation,
)
from tests.DP.server_case import PlanningServerCase

SAMPLE = [[0, 0, 0, 1], [0, 9, 0, -1], [0, 0, 0, 0]]
# The sample's own rewards, written out: -0.04 on arrival at ordinary cells, +1 and -1.
DEFAULTS = [[-0.04, -0.04, -0.04, 1], [-0.04, 0, -0.04, -1], [-0.04, -0.04, -0.04, -0.04]]
# A +0.5 on the ordinary lower-right cell: staying there pays more than the treasure.
CAMP = [[-0.04, -0.04, -0.04, 1], [-0.04, 0, -0.04, -1], [-0.04, -0.04, -0.04, 0.5]]


class ServerTestCase(PlanningServerCase):
    def plan(self, **fields):
        response = self.post({"plan": "value", "grid": SAMPLE, **fields})
        assert response.code == 200, response.body
        return json.loads(response.body)

    def refused(self, **fields):
        response = self.post({"plan": "value", "grid": SAMPLE, **fields})
        assert response.code == 400, (fields, response.code, response.body)
        return json.loads(response.body)["error"]


def plan_with(grid, rewards=None, plan=PolicyIterationPlanner, gamma=0.9, prob=0.8):
    chosen = plan(Environment(grid, move_prob=prob, rewards=rewards))
    chosen.plan(gamma=gamma, threshold=THRESHOLD)
    return chosen


class TestRewards(ServerTestCase):
    def test_the_defaults_written_out_give_the_same_plan_as_none(self):
        for plan in ("value", "policy"):
            default = self.plan(plan=plan)
            explicit = self.plan(plan=plan, rewards=DEFAULTS)
            for key in ("log", "values", "arrows_log", "q_values", "rewards"):
                assert default[key] == explicit[key], key
        assert default["rewards"] == [[-0.04, -0.04, -0.04, 1], [-0.04, None, -0.04, -1],
                                      [-0.04, -0.04, -0.04, -0.04]]

    def test_a_reward_on_any_cell_changes_the_plan_as_the_planner_says(self):
        answer = self.plan(rewards=CAMP)
        reference = plan_with(SAMPLE, CAMP, ValueIterationPlanner)
        np.testing.assert_allclose(answer["values"], reference.log[-1], atol=1e-12)
        assert answer["rewards"][2][3] == 0.5
        # The agent now heads for the +0.5 and stays there: down, not up to the treasure.
        assert answer["policy"][1][0] == ["DOWN"] and answer["policy"][2][3] == ["DOWN"]
        assert self.plan()["policy"][1][0] == ["UP"]
        # Every value satisfies the Bellman equation with the new reward.
        mdp = reference.mdp
        V = np.ravel(answer["values"])
        acting = reference.acting
        np.testing.assert_allclose(mdp.action_values(V, 0.9).max(axis=1)[acting], V[acting],
                                   atol=1e-3)

    def test_a_treasures_reward_can_be_changed_too(self):
        rewards = [row[:] for row in DEFAULTS]
        rewards[0][3] = 5
        answer = self.plan(rewards=rewards)
        assert answer["rewards"][0][3] == 5
        assert answer["values"][0][2] > self.plan()["values"][0][2] + 3

    def test_a_blocks_reward_is_ignored(self):
        rewards = [row[:] for row in DEFAULTS]
        rewards[1][1] = 10
        assert self.plan(rewards=rewards)["values"] == self.plan()["values"]

    def test_wrong_shapes_are_refused(self):
        shapes = [
            DEFAULTS[:2],                                   # a row missing
            DEFAULTS + [[0, 0, 0, 0]],                      # a row too many
            [DEFAULTS[0], DEFAULTS[1][:3], DEFAULTS[2]],    # a short row
            [row + [0] for row in DEFAULTS],                # every row too long
            [],                                             # nothing
            [[]],
        ]
        for rewards in shapes:
            error = self.refused(rewards=rewards)
            assert '"rewards"' in error and "shape" in error, error
            assert "3 rows of 4" in error

    def test_values_that_are_not_finite_numbers_in_range_are_refused(self):
        for bad in (10.001, -11, 10 ** 400, 1e308 * 10):
            rewards = [row[:] for row in DEFAULTS]
            rewards[0][0] = bad
            body = json.dumps({"plan": "value", "grid": SAMPLE, "rewards": rewards})
            if bad == float("inf"):
                body = body.replace("Infinity", "1e400")  # JSON has no Infinity: it overflows
            response = self.post(body)
            assert response.code == 400, bad
            error = json.loads(response.body)["error"]
            assert f"from {-REWARD_LIMIT} to {REWARD_LIMIT}" in error
        # NaN and Infinity literals are not JSON at all.
        for literal in ("NaN", "Infinity", "-Infinity"):
            text = json.dumps({"plan": "value", "grid": SAMPLE, "rewards": DEFAULTS})
            response = self.post(text.replace("-0.04", literal, 1))
            assert response.code == 400
            assert "not valid JSON" in json.loads(response.body)["error"]
        # The limits themselves are allowed.
        rewards = [[REWARD_LIMIT, -REWARD_LIMIT, 0, 1], [0, 0, 0, -1], [0, 0, 0, 0]]
        assert self.plan(rewards=rewards, gamma=0.5)["rewards"][0][:2] == [10, -10]

    def test_wrong_types_are_refused_naming_the_field(self):
        for rewards in ("[[0]]", 0.5, True, None, {"0": [0]}):
            assert '"rewards" must be a list of rows' in self.refused(rewards=rewards)
        for cell in ("0.5", True, False, None, [0.5], {}):
            rewards = [row[:] for row in DEFAULTS]
            rewards[2][1] = cell
            error = self.refused(rewards=rewards)
            assert "every reward must be a number" in error, (cell, error)
        rewards = [DEFAULTS[0], 5, DEFAULTS[2]]
        assert "list of rows" in self.refused(rewards=rewards)

    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(rewards=arrays(float, (3, 4), elements=st.floats(-REWARD_LIMIT, REWARD_LIMIT)),
           gamma=st.floats(0, 0.95), plan=st.sampled_from(["value", "policy"]))
    def test_any_rewards_in_range_plan_to_the_bellman_equation(self, rewards, gamma, plan):
        answer = self.plan(plan=plan, rewards=rewards.tolist(), gamma=gamma)
        mdp = Environment(SAMPLE, rewards=rewards.tolist()).mdp
        V = np.ravel(answer["values"])
        acting = mdp.prob.sum(axis=(1, 2)) > 0
        # The fixed point to within what the threshold leaves: a few times 1e-4 / (1 - γ).
        np.testing.assert_allclose(mdp.action_values(V, gamma).max(axis=1)[acting], V[acting],
                                   atol=20 * THRESHOLD / (1 - gamma))

    def test_positive_rewards_at_gamma_1_get_a_true_hint(self):
        grid = [[0, 1], [0, 0]]
        rewards = [[0.5, 1], [-0.04, -0.04]]
        response = self.post({"plan": "value", "gamma": 1, "grid": grid, "rewards": rewards})
        assert response.code == 422
        error = json.loads(response.body)["error"]
        assert "positive reward" in error
        # What it suggests works: a negative reward there.
        rewards[0][0] = -0.04
        assert self.post({"plan": "value", "gamma": 1, "grid": grid,
                          "rewards": rewards}).code == 200

    def test_large_rewards_close_to_gamma_1_get_a_true_hint(self):
        grid = [[0] * 20 for _ in range(20)]
        rewards = [[-10] * 20 for _ in range(20)]
        body = {"plan": "value", "gamma": 0.99, "grid": grid, "rewards": rewards}
        response = self.post(body)
        assert response.code == 422
        assert "0.98 or lower" in json.loads(response.body)["error"]
        for plan in ("value", "policy"):
            assert self.post({**body, "plan": plan, "gamma": 0.98}).code == 200


class TestPolicyIterationSteps(ServerTestCase):
    def test_each_evaluation_sweep_and_improvement_is_a_step(self):
        answer = self.plan(plan="policy")
        steps = answer["steps"]
        kinds = [step["kind"] for step in steps]
        assert kinds[0] == "start" and kinds[-1] == "improvement"
        assert kinds.count("improvement") == answer["iterations"] == len(answer["policy_log"])
        reference = plan_with(SAMPLE)
        assert len(steps) == len(reference.steps)
        mdp = reference.mdp
        names = [a.name for a in ACTIONS]
        V = np.zeros(mdp.n_states)
        policy = np.full((mdp.n_states, 4), 0.25)
        evaluations = []
        for step, expected in zip(steps, reference.steps):
            assert step["kind"] == expected.kind and step["policy"] == expected.policy_number
            if step["kind"] == "evaluation":
                # One sweep of the Bellman expectation backup of the previous step's values.
                swept = (policy * mdp.action_values(V, 0.9)).sum(axis=1)
                np.testing.assert_allclose(np.ravel(step["values"]), swept, atol=1e-4)
                assert step["delta"] == pytest.approx(np.abs(swept - V).max(), abs=1e-12)
                evaluations.append(step)
                V = swept
            elif step["kind"] == "improvement":
                # The improvement leaves the values and changes the arrows to the new policy.
                policy = expected.policy
                chosen = answer["policy_log"][step["policy"] - 1]
                for r, row in enumerate(SAMPLE):
                    for c, kind in enumerate(row):
                        bits = step["arrows"][r][c]
                        if kind == 0:
                            assert bits == 1 << names.index(chosen[r][c])
                        else:
                            assert bits == 0
                assert "values" not in step
                # Only the last sweep of each evaluation is below the threshold.
                deltas = [e["delta"] for e in evaluations]
                assert deltas[-1] < THRESHOLD <= min(deltas[:-1], default=THRESHOLD)
                np.testing.assert_allclose(np.ravel(answer["log"][step["policy"]]),
                                           np.ravel(evaluations[-1]["values"]), atol=1e-12)
                evaluations = []
            else:
                assert step["values"] == [[0.0] * 4] * 3
                assert step["arrows"][2][0] == 0b1111 and step["arrows"][0][3] == 0
        changed = [s["changed"] for s in steps if s["kind"] == "improvement"]
        assert changed[0] == 9 and changed[-1] == 0 and all(n > 0 for n in changed[:-1])

    def test_value_iteration_has_no_steps(self):
        assert "steps" not in self.plan(plan="value")

    def test_a_long_plan_sends_every_nth_sweep_and_each_evaluations_last(self):
        reference = plan_with(SAMPLE, gamma=0.99)
        sweeps = sum(step.kind == "evaluation" for step in reference.steps)
        limit = sweeps // 5
        with mock.patch.object(plan_answer, "MAX_ITERATIONS", limit):
            steps = plan_answer._policy_iteration_steps(reference, lambda mask: mask.tolist())
        kept = [s for s in steps if s["kind"] == "evaluation"]
        improvements = sum(s["kind"] == "improvement" for s in steps)
        assert len(kept) <= limit + improvements
        assert [s["kind"] for s in steps if s["kind"] != "evaluation"] == \
            [s.kind for s in reference.steps if s.kind != "evaluation"]
        # Before every improvement: the evaluation's last, converged sweep.
        for before, step in zip(steps, steps[1:]):
            if step["kind"] == "improvement":
                assert before["kind"] == "evaluation" and before["delta"] < THRESHOLD

    def test_the_planners_evaluation_starts_from_the_previous_values(self):
        reference = plan_with(SAMPLE)
        V = np.zeros(reference.mdp.n_states)
        for step in reference.steps:
            if step.kind == "evaluation":
                swept = policy_evaluation(reference.mdp, step.policy, 0.9, threshold=np.inf, V=V)
                np.testing.assert_allclose(step.V, swept, atol=1e-12)
            V = step.V


class TestModelAndWarnings(ServerTestCase):
    def test_the_model_is_the_planners_transition_table(self):
        answer = self.plan(prob=0.7)
        mdp = Environment(SAMPLE, move_prob=0.7).mdp
        model = answer["model"]
        assert model["next_state"] == mdp.next_state.tolist()
        np.testing.assert_allclose(model["prob"], mdp.prob, atol=1e-12)
        assert model["start"] == [2, 0]
        for s in range(mdp.n_states):
            total = np.sum(model["prob"][s], axis=1)
            assert np.allclose(total, 1.0) or np.allclose(total, 0.0)

    def test_a_maze_without_an_end_plans_with_a_warning(self):
        assert self.plan()["warnings"] == []
        warnings = self.plan(grid=[[0, 0], [0, 0]])["warnings"]
        assert [w["code"] for w in warnings] == ["no_terminal"]
        assert "no Treasure or Danger" in warnings[0]["message"]
        walled = self.plan(grid=[[1, 9, 0], [9, 0, 0], [0, 0, 0]])["warnings"]
        assert [w["code"] for w in walled] == ["unreachable"]


# ---------------------------------------------------------------------- one maze, one answer


def printed_grids(text):
    """The two value grids ``DP/planner.py`` prints, as lists of rows of strings per cell."""
    blocks = [block.splitlines() for block in text.strip().split("\n\n")]
    return {lines[0]: [re.findall(r"block|-?\d+\.\d{3}(?:\([TD]\))?", line)
                       for line in lines[1:]] for lines in blocks}


def test_the_cli_and_the_page_agree_on_a_saved_maze(tmp_path, capsys):
    # A maze as the page saves it: its γ and move probability are not the defaults.
    rewards = [[-0.1, -0.04, -0.04, 2], [-0.04, 0, -0.04, -1], [-0.04, -0.3, -0.04, -0.04]]
    path = tmp_path / "maze.json"
    path.write_text(json.dumps({"grid": SAMPLE, "prob": 0.7, "gamma": 0.5, "rewards": rewards}))
    planner.main(["--grid", str(path)])
    grids = printed_grids(capsys.readouterr().out)
    for plan, name in (("value", "Value Iteration"), ("policy", "Policy Iteration")):
        (header,) = [h for h in grids if h.startswith(name)]
        assert "(γ=0.5, move_prob=0.7)" in header
        page = json.loads(solve(PlanRequest(plan=plan, grid=SAMPLE, prob=0.7, gamma=0.5,
                                            rewards=rewards)))
        cells = grids[header]
        for r, row in enumerate(SAMPLE):
            for c, kind in enumerate(row):
                if kind == 9:
                    assert cells[r][c] == "block"
                elif kind in (1, -1):  # a terminal cell is printed as its reward
                    mark = "(T)" if kind == 1 else "(D)"
                    assert cells[r][c] == f"{rewards[r][c]:.3f}{mark}"
                else:
                    assert float(cells[r][c]) == pytest.approx(page["values"][r][c], abs=5e-4)
    # An option overrides the file.
    planner.main(["--grid", str(path), "--gamma", "0.9"])
    assert "(γ=0.9, move_prob=0.7)" in capsys.readouterr().out


def test_the_cli_refuses_rewards_that_do_not_fit(tmp_path, capsys):
    path = tmp_path / "maze.json"
    path.write_text(json.dumps({"grid": SAMPLE, "rewards": [[0, 0], [0, 0]]}))
    with pytest.raises(SystemExit) as exit_info:
        planner.main(["--grid", str(path)])
    assert exit_info.value.code == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert str(path) in line and "rewards" in line and "shape" in line


def test_the_readable_backup_is_the_sparse_product():
    mdp = Environment(SAMPLE, move_prob=0.7, rewards=CAMP).mdp
    V = np.random.default_rng(0).normal(size=mdp.n_states)
    Q = mdp.action_values(V, 0.9)
    for s in range(mdp.n_states):
        for a in range(len(ACTIONS)):
            assert backup(mdp, V, 0.9, s, a) == pytest.approx(Q[s, a], abs=1e-12)
