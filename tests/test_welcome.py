import inspect
import os

import common

import numpy as np
import pytest
from PIL import Image

import welcome

VERSIONS = ("Python ", "TensorFlow ", "Keras ", "gymnasium ", "pygame ")


def test_headless_run_plays_writes_a_gif_and_reports_the_versions(capsys, monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    rewards = welcome.main(["--headless", "--episodes", "1", "--seed", "0"])
    out = capsys.readouterr().out
    assert "No display found" not in out  # --headless asked for it: nothing to fall back from
    assert len(rewards) == 1 and rewards[0] <= -5  # an untrained model loses its 3 lives
    assert f"Episode 1: reward is {rewards[0]:+.0f}" in out
    lines = out.strip().splitlines()
    assert lines[-1] == "setup OK"
    assert [line.split()[0] + " " for line in lines[-6:-1]] == list(VERSIONS)
    path = welcome.gif_path()
    assert str(path).startswith(os.environ["RL_BOOK_OUTPUT_DIR"]) and path.name == "catcher.gif"
    with Image.open(path) as gif:
        assert gif.size == (64 * 4, 64 * 4) and gif.n_frames > 30


def test_without_a_display_it_falls_back_to_headless(capsys, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    welcome.gif_path().unlink(missing_ok=True)
    assert not common.display_available()
    welcome.main(["--episodes", "1", "--seed", "1"])
    out = capsys.readouterr().out
    assert "No display found: playing headless" in out and out.rstrip().endswith("setup OK")
    assert welcome.gif_path().exists()


def test_the_model_picks_actions_from_the_pixels():
    model = welcome.build_model((64, 64, 3), 3)
    policy, probabilities = welcome.make_policy(model, np.random.default_rng(0))
    blank = np.zeros((64, 64, 3), dtype=np.uint8)
    bright = np.full((64, 64, 3), 255, dtype=np.uint8)
    p_blank, p_bright = probabilities(blank).numpy(), probabilities(bright).numpy()
    assert p_blank.shape == (3,) and np.isclose(p_blank.sum(), 1.0, atol=1e-5)
    assert not np.allclose(p_blank, p_bright)
    assert {policy(bright) for _ in range(50)} <= {0, 1, 2}


@pytest.mark.parametrize("argv, message", [
    (["--episodes", "0"], "argument --episodes: must be 1 or more, got 0"),
    (["--episodes", "-2"], "argument --episodes: must be 1 or more, got -2"),
    (["--episodes", "1.5"], "argument --episodes: must be a whole number"),
    (["--seed", "-1"], "argument --seed: must be from 0 to 4294967295, got -1"),
])
def test_bad_options_exit_with_status_2(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        welcome.main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_welcome_is_the_books_entry_point_and_needs_no_arguments(capsys, monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    inspect.signature(welcome.welcome).bind()  # the book calls welcome() with no arguments
    rewards = welcome.welcome(episode_count=1, headless=True, seed=2)
    out = capsys.readouterr().out
    assert len(rewards) == 1 and f"Episode 1: reward is {rewards[0]:+.0f}" in out
    assert out.rstrip().endswith("setup OK")
