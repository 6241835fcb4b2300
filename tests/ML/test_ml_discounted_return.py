from common import output_dir

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ML import discounted_return as dr

rewards_lists = st.lists(st.floats(-10, 10, allow_nan=False), min_size=1, max_size=40)
gammas = st.floats(0.0, 1.0)


@settings(max_examples=200, deadline=None)
@given(rewards_lists, gammas)
def test_recursive_and_iterative_returns_agree(rewards, gamma):
    recursive = dr.discounted_return_recursive(rewards, gamma)
    iterative = dr.discounted_return_iterative(rewards, gamma)
    assert recursive == pytest.approx(iterative, rel=1e-9, abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(rewards_lists, gammas)
def test_return_satisfies_its_recursion(rewards, gamma):
    head = dr.discounted_return_iterative(rewards, gamma)
    tail = dr.discounted_return_iterative(rewards[1:], gamma)
    assert head == pytest.approx(rewards[0] + gamma * tail, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("rewards", [[3.0], [3.0, 100.0, -7.0], [-1.5, 0.0, 0.0, 9.0]])
def test_gamma_zero_keeps_only_the_first_reward(rewards):
    assert dr.discounted_return_recursive(rewards, 0.0) == rewards[0]
    assert dr.discounted_return_iterative(rewards, 0.0) == rewards[0]


def test_gamma_one_is_the_plain_sum_and_constant_rewards_give_a_geometric_series():
    rewards = [2.0, -1.0, 4.0, 0.5]
    assert dr.discounted_return_recursive(rewards, 1.0) == pytest.approx(sum(rewards))
    n, gamma = 30, 0.9
    expected = (1 - gamma ** n) / (1 - gamma)
    assert dr.discounted_return_recursive([1.0] * n, gamma) == pytest.approx(expected)
    assert dr.discounted_return_iterative([1.0] * n, gamma) == pytest.approx(expected)


def test_a_later_reward_weighs_less_when_gamma_is_smaller():
    late = [0.0] * 9 + [1.0]
    values = [dr.discounted_return_iterative(late, g) for g in (0.5, 0.9, 0.99)]
    assert values == sorted(values)
    assert values[1] == pytest.approx(0.9 ** 9)


def test_main_prints_the_table_and_saves_the_plot(capsys):
    table = dr.main(["--rewards", "1,2,3", "--gammas", "0,0.5,1", "--no-show"])
    assert list(table.index) == [0.0, 0.5, 1.0]
    assert table[dr.RECURSIVE].tolist() == pytest.approx([1.0, 2.75, 6.0])
    assert table[dr.ITERATIVE].tolist() == pytest.approx([1.0, 2.75, 6.0])
    assert table[dr.LAST_WEIGHT].tolist() == pytest.approx([0.0, 0.25, 1.0])
    out = capsys.readouterr().out
    assert "割引報酬和・再帰 (recursive)" in out and "割引率 γ" in out
    assert (output_dir(dr.__file__) / "discounted_return.png").stat().st_size > 0


@pytest.mark.parametrize("argv", [["--gammas", "1.5"], ["--rewards", "a,b"], ["--rewards", ""],
                                  ["--rewards", ",".join(["1"] * 501)]])
def test_bad_arguments_exit_with_status_2(argv, capsys):
    with pytest.raises(SystemExit) as error:
        dr.main([*argv, "--no-show"])
    assert error.value.code == 2
    assert "error:" in capsys.readouterr().err
