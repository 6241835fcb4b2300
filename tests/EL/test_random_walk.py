"""The 19-state random walk: the vectorized n-step TD and TD(λ) against plain loops."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from EL import random_walk
from EL.random_walk import (
    ALPHAS,
    LAMBDAS,
    N_STATES,
    N_VALUES,
    make_walks,
    n_step_td,
    rms_error,
    run_experiment,
    td_lambda,
    true_values,
)

ALPHA_GRID = np.array([0.05, 0.2, 0.6])


# Plain one-run, one-α versions, written as the textbook's pseudo-code reads.

def episodes_of(walks, run):
    """The (states, rewards) of each episode of one run, without the padding."""
    for walk in walks:
        T = walk.lengths[run]
        yield walk.states[run, :T + 1], walk.rewards[run, :T]


def plain_td0(walks, run, alpha):
    V = np.zeros(N_STATES + 2)
    for states, rewards in episodes_of(walks, run):
        for t in range(len(rewards)):
            V[states[t]] += alpha * (rewards[t] + V[states[t + 1]] - V[states[t]])
    return V


def plain_monte_carlo(walks, run, alpha):
    """Constant-α Monte Carlo: after the episode, every visit moves towards its return."""
    V = np.zeros(N_STATES + 2)
    for states, rewards in episodes_of(walks, run):
        returns = np.cumsum(rewards[::-1])[::-1]  # γ = 1
        for t in range(len(rewards)):
            V[states[t]] += alpha * (returns[t] - V[states[t]])
    return V


def plain_n_step_td(walks, run, alpha, n):
    """Sutton & Barto's n-step TD, with its clock t and the step τ = t − n + 1 it updates."""
    V = np.zeros(N_STATES + 2)
    for states, rewards in episodes_of(walks, run):
        T = len(rewards)
        for t in range(T + n - 1):
            tau = t - n + 1
            if tau >= 0:
                G = rewards[tau:min(tau + n, T)].sum()
                if tau + n < T:
                    G += V[states[tau + n]]
                V[states[tau]] += alpha * (G - V[states[tau]])
    return V


def plain_td_lambda(walks, run, alpha, lambda_):
    V = np.zeros(N_STATES + 2)
    for states, rewards in episodes_of(walks, run):
        E = np.zeros_like(V)
        for t in range(len(rewards)):
            delta = rewards[t] + V[states[t + 1]] - V[states[t]]
            E *= lambda_
            E[states[t]] += 1
            V += alpha * delta * E
    return V


@pytest.fixture(scope="module")
def walks():
    return make_walks(runs=6, episodes=4, seed=3)


def test_true_values_are_the_random_policys_values():
    V = true_values()
    assert V[0] == V[-1] == 0.0
    assert V[1] == pytest.approx(-0.9) and V[10] == pytest.approx(0.0)
    assert V[19] == pytest.approx(0.9)
    # Bellman equation of the random policy: half the value on each side, ±1 off the ends.
    left = np.concatenate([[-1.0], V[1:-2]])
    right = np.concatenate([V[2:-1], [1.0]])
    np.testing.assert_allclose(V[1:-1], 0.5 * left + 0.5 * right, atol=1e-12)


def test_walks_start_in_the_middle_step_by_one_and_pay_only_at_the_end(walks):
    for walk in walks:
        for run in range(6):
            T = walk.lengths[run]
            states = walk.states[run]
            assert states[0] == 10
            assert set(np.abs(np.diff(states[:T + 1]))) == {1}
            assert 0 < states[:T].min() and states[:T].max() < N_STATES + 1
            assert states[T] in (0, N_STATES + 1) and (states[T:] == states[T]).all()
            assert walk.rewards[run, T - 1] == (1.0 if states[T] == N_STATES + 1 else -1.0)
            assert np.count_nonzero(walk.rewards[run]) == 1


def test_one_step_td_is_td0(walks):
    history = n_step_td(walks, 1, ALPHA_GRID)
    assert history.shape == (4, 3, 6, N_STATES + 2)
    for i, alpha in enumerate(ALPHA_GRID):
        for run in range(6):
            np.testing.assert_allclose(history[-1, i, run], plain_td0(walks, run, alpha),
                                       atol=1e-12)


def test_n_step_td_longer_than_every_episode_is_monte_carlo(walks):
    longest = max(walk.lengths.max() for walk in walks)
    history = n_step_td(walks, longest, ALPHA_GRID)
    for i, alpha in enumerate(ALPHA_GRID):
        for run in range(6):
            np.testing.assert_allclose(history[-1, i, run],
                                       plain_monte_carlo(walks, run, alpha), atol=1e-12)


@pytest.mark.parametrize("n", [2, 3, 8])
def test_n_step_td_matches_the_textbook_loop(walks, n):
    history = n_step_td(walks, n, ALPHA_GRID)
    for i, alpha in enumerate(ALPHA_GRID):
        for run in range(6):
            np.testing.assert_allclose(history[-1, i, run],
                                       plain_n_step_td(walks, run, alpha, n), atol=1e-12)


def test_td_lambda_at_zero_is_td0(walks):
    history = td_lambda(walks, 0.0, ALPHA_GRID)
    for i, alpha in enumerate(ALPHA_GRID):
        for run in range(6):
            np.testing.assert_allclose(history[-1, i, run], plain_td0(walks, run, alpha),
                                       atol=1e-12)


@pytest.mark.parametrize("lambda_", [0.5, 0.9])
def test_td_lambda_matches_the_plain_trace_loop(walks, lambda_):
    history = td_lambda(walks, lambda_, ALPHA_GRID)
    for i, alpha in enumerate(ALPHA_GRID):
        for run in range(6):
            np.testing.assert_allclose(history[-1, i, run],
                                       plain_td_lambda(walks, run, alpha, lambda_), atol=1e-10)


def test_rms_error_is_zero_at_the_truth_and_counts_divergence_as_infinite():
    truth = np.broadcast_to(true_values(), (2, 1, 3, N_STATES + 2))
    np.testing.assert_allclose(rms_error(truth), [0.0])
    zeros = np.zeros((2, 2, 3, N_STATES + 2))
    expected = np.sqrt(np.mean(true_values()[1:-1] ** 2))
    np.testing.assert_allclose(rms_error(zeros), [expected, expected])
    broken = zeros.copy()
    broken[0, 1, 0, 5] = np.nan
    assert rms_error(broken)[1] == np.inf and np.isfinite(rms_error(broken)[0])


def test_a_few_steps_beat_one_step_and_the_whole_return():
    rows = run_experiment(runs=30, episodes=10, seed=1, n_values=[1, 4, 512],
                          lambdas=[0.0, 0.8, 1.0])
    best = {}
    for method, key, _, rms in rows:
        best[method, key] = min(best.get((method, key), np.inf), rms)
    assert best["n-step TD", 4] < best["n-step TD", 1]
    assert best["n-step TD", 4] < best["n-step TD", 512]
    assert best["TD(lambda)", 0.8] < best["TD(lambda)", 0.0]
    assert best["TD(lambda)", 0.8] < best["TD(lambda)", 1.0]
    # The longer the look-ahead, the smaller its best step size.
    best_alpha = {key: min((r, a) for m, k, a, r in rows if m == "n-step TD" and k == key)[1]
                  for key in (1, 4, 512)}
    assert best_alpha[1] > best_alpha[4] > best_alpha[512]


def test_main_writes_rms_csv_in_a_new_run_folder(capsys):
    rows = random_walk.main(["--runs", "3", "--episodes", "2", "--seed", "5", "--no-show"])
    out = capsys.readouterr().out
    saved = [Path(line.removeprefix("Saved ")) for line in out.splitlines()
             if line.startswith("Saved ")]
    assert [path.name for path in saved] == ["rms.csv", "rms.png"]
    run_dir = saved[0].parent
    assert f"Run folder: {run_dir}" in out and "best α for each n" in out
    with open(run_dir / "rms.csv", newline="") as file:
        table = list(csv.reader(file))
    assert table[0] == ["method", "n_or_lambda", "alpha", "rms"]
    assert len(table) - 1 == len(rows) == (len(N_VALUES) + len(LAMBDAS)) * len(ALPHAS)
    assert {row[0] for row in table[1:]} == {"n-step TD", "TD(lambda)"}
    assert all(float(row[3]) >= 0 for row in table[1:])
    assert json.loads((run_dir / "run.json").read_text())["status"] == "finished"
    before = (run_dir / "rms.csv").read_bytes()
    random_walk.main(["--runs", "2", "--episodes", "1", "--no-show"])
    again = [Path(line.removeprefix("Saved ")) for line in capsys.readouterr().out.splitlines()
             if line.startswith("Saved ")]
    assert again[0].parent != run_dir and (run_dir / "rms.csv").read_bytes() == before


@pytest.mark.parametrize("argv, option", [(["--runs", "0"], "--runs"),
                                          (["--episodes", "x"], "--episodes")])
def test_a_bad_option_gets_one_sentence_and_status_2(argv, option, capsys):
    with pytest.raises(SystemExit) as exit_info:
        random_walk.main([*argv, "--no-show"])
    assert exit_info.value.code == 2
    assert f"argument {option}:" in capsys.readouterr().err
