import pytest

from DP import bellman_equation, environment_demo, planner
from tests.option_checks import BAD_SEEDS, assert_refused


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


# Every Day2 script but the web server, whose options tests/DP/test_application*.py check.
SCRIPTS = [bellman_equation, environment_demo, planner]


@pytest.mark.parametrize("seed", BAD_SEEDS)
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda m: m.__name__)
def test_a_bad_seed_gets_one_sentence_and_status_2(script, seed, capsys):
    assert_refused(script.main, ["--seed", seed], capsys, "argument --seed:")


@pytest.mark.parametrize("script, argv, option", [
    (bellman_equation, ["--gamma", "1.5"], "--gamma"),
    (bellman_equation, ["--gamma", "nan"], "--gamma"),
    (environment_demo, ["--episodes", "0"], "--episodes"),
    (planner, ["--gamma", "-0.1"], "--gamma"),
    (planner, ["--gamma", "inf"], "--gamma"),
    (planner, ["--threshold", "0"], "--threshold"),
    (planner, ["--threshold", "nan"], "--threshold"),
    (planner, ["--move-prob", "1.01"], "--move-prob"),
    (planner, ["--move-prob", "nan"], "--move-prob"),
], ids=str)
def test_a_value_out_of_range_gets_one_sentence_and_status_2(script, argv, option, capsys):
    assert_refused(script.main, argv, capsys, f"argument {option}:")
