from common import output_dir

import pytest

from ML import gradient

POINTS = [(2.0, 1.0, 3.0), (-0.5, 4.0, 0.0), (1.5, -2.0, -7.25), (0.0, 0.0, 1e3)]


@pytest.mark.parametrize(("a", "b", "x"), POINTS)
def test_gradient_tape_matches_the_derivatives_by_hand(a, b, x):
    by_tape = gradient.gradients_by_tape(a, b, x)
    assert by_tape == pytest.approx({"dy/da": x, "dy/db": 1.0, "dy/dx": a})
    assert by_tape == pytest.approx(gradient.gradients_by_hand(a, b, x))


@pytest.mark.parametrize(("a", "b", "x"), POINTS)
def test_loss_gradient_matches_the_chain_rule_and_points_uphill(a, b, x):
    target = 4.0
    loss, slope = gradient.loss_gradient_by_tape(a, b, x, target)
    assert loss == pytest.approx((a * x + b - target) ** 2)
    assert slope == pytest.approx(2 * (a * x + b - target) * x)
    assert slope == pytest.approx(gradient.loss_gradient_by_hand(a, b, x, target))
    if slope != 0:
        step = 1e-4 / abs(slope)
        assert gradient.squared_error(a - step * slope, b, x, target) < loss


def test_main_prints_both_gradients_and_saves_the_plot(capsys):
    by_tape, by_hand = gradient.main(["--a", "-1", "--b", "2", "--x", "5", "--no-show"])
    assert by_tape == pytest.approx(by_hand)
    assert by_tape["dy/da"] == pytest.approx(5.0)
    out = capsys.readouterr().out
    assert "dy/da: GradientTape 5, 手計算 (by hand) 5" in out
    assert (output_dir(gradient.__file__) / "gradient.png").stat().st_size > 0


@pytest.mark.parametrize("argv", [["--learning-rate", "0"], ["--a", "nan"]])
def test_bad_arguments_exit_with_status_2(argv):
    with pytest.raises(SystemExit) as error:
        gradient.main([*argv, "--no-show"])
    assert error.value.code == 2


@pytest.mark.parametrize(("a", "b", "x"), POINTS)
def test_the_books_f_and_grad_give_the_line_and_its_derivatives_in_argument_order(a, b, x):
    assert float(gradient.f(x, a, b)) == pytest.approx(x * a + b)
    df_dx, df_da, df_db = (float(g) for g in gradient.grad(gradient.f)(x, a, b))
    assert (df_dx, df_da, df_db) == pytest.approx((a, x, 1.0))
