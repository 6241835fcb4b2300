from common import output_dir

import numpy as np
import pytest

from ML import mdp


def test_the_mdp_is_well_formed():
    acting = [s for s in mdp.STATES if s not in mdp.TERMINALS]
    for state in acting:
        assert sum(mdp.POLICY[state].values()) == pytest.approx(1.0)
        for action in mdp.ACTIONS:
            probs = mdp.transit_func(state, action)
            assert sum(probs.values()) == pytest.approx(1.0)
            assert set(probs) <= set(mdp.STATES)


@pytest.mark.parametrize("gamma", [0.0, 0.5, 0.9, 1.0])
def test_exact_values_satisfy_the_bellman_equation_of_the_policy(gamma):
    V = mdp.exact_values(gamma)
    for state in mdp.TERMINALS:
        assert V[state] == 0.0
    for state in (s for s in mdp.STATES if s not in mdp.TERMINALS):
        expected = sum(
            action_prob * prob * (mdp.reward_func(state, next_state) + gamma * V[next_state])
            for action, action_prob in mdp.POLICY[state].items()
            for next_state, prob in mdp.transit_func(state, action).items()
        )
        assert V[state] == pytest.approx(expected)


def test_values_order_follows_the_distance_to_the_goal():
    V = mdp.exact_values(0.9)
    assert V["s1"] < V["s2"] < V["s3"]


def test_episodes_end_in_a_terminal_state_and_follow_the_transitions():
    rng = np.random.default_rng(3)
    for _ in range(50):
        episode = mdp.sample_episode("s2", rng)
        assert episode[0][0] == "s2"
        assert episode[-1][2] in (mdp.REWARDS["goal"], mdp.REWARDS["pit"])
        for (state, action, reward), (next_state, _, _) in zip(episode, episode[1:]):
            assert next_state in mdp.transit_func(state, action)
            assert reward == mdp.reward_func(state, next_state)


@pytest.mark.parametrize("gamma", [0.9, 1.0])
def test_sampled_value_converges_to_the_exact_value(gamma):
    rng = np.random.default_rng(0)
    exact = mdp.exact_values(gamma)
    n = 4000
    for state in ("s1", "s2", "s3"):
        estimate, running_mean = mdp.estimate_value(state, n, gamma, rng)
        assert len(running_mean) == n
        # Returns spread by less than 1 around their mean, so the standard error of a mean
        # of 4000 is below 0.016: 0.05 is more than three standard errors.
        assert estimate == pytest.approx(exact[state], abs=0.05)


def test_main_prints_exact_and_estimated_values(capsys):
    table = mdp.main(["--episodes", "300", "--seed", "1", "--no-show"])
    out = capsys.readouterr().out
    assert "厳密な価値 (exact V)" in out and "推定 (estimate)" in out
    assert list(table.index) == ["s1", "s2", "s3"]
    assert (table["誤差 (error)"].abs() < 0.25).all()
    assert (output_dir(mdp.__file__) / "mdp.png").stat().st_size > 0


def test_main_is_reproducible_with_a_seed():
    first = mdp.main(["--episodes", "50", "--seed", "7", "--no-show"])
    second = mdp.main(["--episodes", "50", "--seed", "7", "--no-show"])
    assert first["推定 (estimate)"].tolist() == second["推定 (estimate)"].tolist()


@pytest.mark.parametrize("argv", [["--gamma", "-0.1"], ["--episodes", "0"]])
def test_bad_arguments_exit_with_status_2(argv):
    with pytest.raises(SystemExit) as error:
        mdp.main([*argv, "--no-show"])
    assert error.value.code == 2
