"""Helpers that only the FN tests use: reading back what a run wrote to TensorBoard, run
folders, and the catch rates of a Catcher agent against random play."""

from pathlib import Path

import numpy as np
import pytest

from envs.catcher import evaluate_catch_rate
from FN.dqn_agent import make_catcher


def _events(event_dir):
    """Every summary value written under ``event_dir``, with its step, in the order written."""
    import tensorflow as tf
    from tensorflow.core.util import event_pb2

    for path in sorted(Path(event_dir).glob("events.out.tfevents.*")):
        for record in tf.data.TFRecordDataset(str(path)):
            event = event_pb2.Event.FromString(record.numpy())
            for value in event.summary.value:
                yield event.step, value


def _read_scalars(event_dir):
    """``{tag: [(step, value), ...]}`` of the scalars written under ``event_dir``.

    The writer stores a tag's plugin metadata only with its first event, so scalar tags are
    remembered as they appear.
    """
    import tensorflow as tf

    scalars, scalar_tags = {}, set()
    for step, value in _events(event_dir):
        if value.metadata.plugin_data.plugin_name == "scalars":
            scalar_tags.add(value.tag)
        if value.tag in scalar_tags:
            scalars.setdefault(value.tag, []).append(
                (step, float(tf.make_ndarray(value.tensor))))
    return scalars


def _summaries(event_dir, plugin):
    """``{tag: [tensor, ...]}`` of the events of one plugin ("images", "text")."""
    import tensorflow as tf

    found = {}
    for _, value in _events(event_dir):
        if value.metadata.plugin_data.plugin_name == plugin:
            found.setdefault(value.tag, []).append(tf.make_ndarray(value.tensor))
    return found


@pytest.fixture
def read_scalars():
    return _read_scalars


@pytest.fixture
def summaries():
    return _summaries


def _fresh_catch_rates(agent, episodes=20, seed=777):
    """The catch rates of ``agent`` and of random play on the same ``episodes`` fresh games
    (seeds neither training nor its evaluations used)."""
    games = make_catcher(num_games=10)
    rate, caught, missed = evaluate_catch_rate(agent.greedy_actions, games, episodes, seed=seed)
    assert len(caught) == len(missed) == episodes
    rng = np.random.default_rng(0)
    random_rate, _, _ = evaluate_catch_rate(lambda states: rng.integers(0, 3, len(states)),
                                            games, episodes, seed=seed)
    return rate, random_rate


@pytest.fixture
def fresh_catch_rates():
    return _fresh_catch_rates


@pytest.fixture
def run_folders():
    """The run folders of a script's mode, oldest first: ``run_folders(root, "dqn_agent",
    "cartpole")`` under the output root ``root``."""
    def folders(root, script, kind=""):
        parent = Path(root) / "FN" / script / kind
        return sorted(folder for folder in parent.iterdir() if (folder / "run.json").is_file())

    return folders


@pytest.fixture
def interrupt_dqn_at(monkeypatch):
    """``interrupt_dqn_at(steps)``: DQN's training gets a Ctrl-C (``KeyboardInterrupt``) once it
    has played ``steps`` environment steps, as if the user pressed it then. Calling it again
    moves the moment."""
    from FN.dqn_agent import DeepQNetworkTrainer

    original_step = DeepQNetworkTrainer.step

    def interrupt_at(steps):
        def step(self, episode, step_count, agent, experience):
            original_step(self, episode, step_count, agent, experience)
            if self.total_steps == steps:
                raise KeyboardInterrupt

        monkeypatch.setattr(DeepQNetworkTrainer, "step", step)

    return interrupt_at
