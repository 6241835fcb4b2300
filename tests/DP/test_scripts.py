import pytest

from DP import bellman_equation, environment_demo


def test_bellman_equation_prints_the_three_values(capsys):
    bellman_equation.main([])
    out = capsys.readouterr().out
    assert 'V("state") = 0.788094' in out
    assert 'V("state_up_up") = 0.906803' in out
    assert 'V("state_down_down") = -0.960596' in out


def test_bellman_value_is_reward_plus_discounted_best_expectation():
    s = "state_up_up_up_up"
    up = 0.9 * bellman_equation.V(s + "_up") + 0.1 * bellman_equation.V(s + "_down")
    down = 0.1 * bellman_equation.V(s + "_up") + 0.9 * bellman_equation.V(s + "_down")
    assert bellman_equation.V(s) == pytest.approx(0.99 * max(up, down))
    assert bellman_equation.transit_func("state_up_up_up_up_down", "up") == {"happy_end": 1.0}


def test_environment_demo_plays_ten_episodes(capsys):
    totals = environment_demo.main(["--seed", "1"])
    assert len(totals) == 10
    assert all(-10 < total <= 1 for total in totals)
    assert capsys.readouterr().out.count("Episode") == 10
