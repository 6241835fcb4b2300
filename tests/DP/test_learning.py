"""Day3 on the Day2 maze (DP/learning.py): the EL learners, the recorder, the routes, V*."""

from pathlib import Path

from common import set_seed

import numpy as np
import pytest

from DP.environment import ACTIONS, DANGER, Action
from DP.learning import (
    LEARNERS,
    SIMULATOR_ORDER,
    STEP_REWARD,
    EpisodeRecorder,
    LearningSettings,
    MazeLearning,
    greedy_route,
    learn_maze,
    maze_env,
    reaches_treasure,
    reference_values,
    step_limit,
)
from DP.vectorized_planner import GridMDP, greedy_mask, value_iteration
from envs.gridworld import MDP_ACTIONS
from tests.learning_margins import learning_seeds

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = [[0, 0, 0, 1], [0, 9, 0, -1], [0, 0, 0, 0]]
# The cliff: the start at the lower left, the Treasure at the lower right, Danger between
# them. The short route runs along the Danger; the safe one a row higher, two steps longer.
CLIFF = [[0] * 8, [0] * 8, [0] * 8, [0, -1, -1, -1, -1, -1, -1, 1]]
# The settings under which SARSA and Q-learning disagree (see test_sarsa_learns_...).
CLIFF_SETTINGS = dict(grid=CLIFF, prob=1.0, epsilon=0.3, learning_rate=0.1, gamma=0.9,
                      episodes=500, seed=0)


def cells(route, n_columns):
    return [divmod(s, n_columns) for s in route]


def touches_danger(route, mdp):
    """How many cells of ``route`` have a Danger cell next to them."""
    grid = mdp.grid
    count = 0
    for row, column in cells(route, mdp.n_columns):
        neighbours = [(row + dr, column + dc) for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1))]
        count += any(0 <= r < mdp.n_rows and 0 <= c < mdp.n_columns and grid[r, c] == DANGER
                     for r, c in neighbours)
    return count


def test_the_simulator_order_undoes_the_gridworld_numbering():
    # Column j of a simulator table is ACTIONS[j]; GridWorld's action a is ACTIONS[MDP_ACTIONS[a]].
    for j, book_action in enumerate(SIMULATOR_ORDER):
        assert MDP_ACTIONS[book_action] == j
    assert [ACTIONS[MDP_ACTIONS[a]] for a in SIMULATOR_ORDER] == ACTIONS


@pytest.mark.parametrize("name", list(LEARNERS))
def test_every_learner_runs_on_the_maze_through_its_own_loop(name):
    learner = LEARNERS[name]
    assert (ROOT / learner.file).is_file()
    settings = LearningSettings(name, SAMPLE, episodes=30, epsilon=learner.epsilon)
    learning, episodes = learn_maze(settings)
    assert [e.number for e in episodes] == list(range(1, 31))
    snapshot = learning.snapshot()
    assert snapshot["table"].shape == (12, 4) and snapshot["values"].shape == (12,)
    # Something was learned: the table moved away from where it started.
    if not learner.preferences:
        assert np.abs(snapshot["table"]).sum() > 0
    assert snapshot["visits"].sum() == sum(len(e.path) for e in episodes)


def test_before_learning_there_is_no_table_to_show():
    for name in ("q_learning", "actor_critic"):
        learning = MazeLearning(LearningSettings(name, SAMPLE))
        snapshot = learning.snapshot()
        assert snapshot["table"] is None and snapshot["values"] is None


def test_the_maze_env_has_the_day2_dynamics_and_rewards():
    rewards = [[-0.04, -0.5, -0.04, 1], [-0.04, 0, -0.04, -1], [-0.04, -0.04, -0.04, -0.04]]
    env = maze_env(SAMPLE, prob=0.8, rewards=rewards).unwrapped
    mdp = GridMDP(SAMPLE, 0.8, STEP_REWARD, rewards)
    assert np.array_equal(env.mdp.reward, mdp.reward)
    assert np.array_equal(env.mdp.prob, mdp.prob)
    assert env.mdp.reward[1] == -0.5
    # GridWorld's action 2 is RIGHT: from the cell left of the custom one, with prob 1 ...
    env = maze_env(SAMPLE, prob=1.0, rewards=rewards)
    env.reset(seed=0)
    env.unwrapped.state = 0
    state, reward, terminated, truncated, _ = env.step(2)
    assert (state, reward, terminated, truncated) == (1, -0.5, False, False)


def test_a_wandering_episode_is_cut_at_the_step_limit():
    grid = [[0, 0], [0, 0]]  # nothing ends an episode here
    learning, episodes = learn_maze(LearningSettings("q_learning", grid, episodes=3))
    assert [e.end for e in episodes] == ["limit"] * 3
    assert [e.steps for e in episodes] == [step_limit(4)] * 3
    assert all(e.reward == pytest.approx(STEP_REWARD * e.steps) for e in episodes)


def test_the_recorder_reports_each_episode_as_it_happened():
    reported = []
    learning = MazeLearning(LearningSettings("q_learning", SAMPLE, episodes=50),
                            on_episode=lambda episode, more: reported.append((episode, more)))
    learning.run()
    assert [more for _, more in reported] == [True] * 49 + [False]
    mdp = learning.mdp
    for episode, _ in reported:
        assert episode.path[0] == 8  # the lower-left start
        last = episode.path[-1]
        kind = {1: "treasure", -1: "danger"}.get(int(mdp.grid.ravel()[last]), "limit")
        assert episode.end == kind
        # Its reward is the sum of the rewards on arrival along the path.
        assert episode.reward == pytest.approx(sum(mdp.reward[s] for s in episode.path[1:]))
        # Every move is one a move of the maze can make (to a neighbour, or staying put).
        for a, b in zip(episode.path, episode.path[1:]):
            assert b in mdp.next_state[a].ravel()


def test_the_recorder_watches_without_changing_what_is_learned():
    from common import set_seed

    from EL.q_learning import QLearningAgent

    settings = LearningSettings("q_learning", SAMPLE, episodes=200, seed=3)
    learning, _ = learn_maze(settings)
    # The same agent, seeded the same way, on the bare environment.
    set_seed(3)
    env = maze_env(SAMPLE)
    env.action_space.seed(3)
    env.reset(seed=3)
    agent = QLearningAgent(epsilon=0.1)
    agent.learn(env, episode_count=200, report_interval=200)
    assert np.array_equal(learning.snapshot()["table"], np.asarray(agent.Q)[:, SIMULATOR_ORDER])


def test_the_same_seed_learns_the_same_table_and_another_seed_another():
    first, _ = learn_maze(LearningSettings("sarsa", SAMPLE, episodes=100, seed=1))
    again, _ = learn_maze(LearningSettings("sarsa", SAMPLE, episodes=100, seed=1))
    other, _ = learn_maze(LearningSettings("sarsa", SAMPLE, episodes=100, seed=2))
    assert np.array_equal(first.snapshot()["table"], again.snapshot()["table"])
    assert not np.array_equal(first.snapshot()["table"], other.snapshot()["table"])


@pytest.mark.parametrize("seed", learning_seeds(0))
@pytest.mark.learning
def test_q_learning_finds_the_treasure_along_a_greedy_path_of_value_iteration(seed, margin):
    # Moves go where they are meant (prob 1), so the greedy route is well defined.
    settings = LearningSettings("q_learning", SAMPLE, prob=1.0, episodes=300, seed=seed)
    learning, episodes = learn_maze(settings)
    mdp = learning.mdp
    route = greedy_route(learning.snapshot()["table"], mdp)
    assert reaches_treasure(route, mdp)
    # Every move of the route is one of Value Iteration's greedy actions ...
    V, _ = value_iteration(mdp, 0.9)
    best = greedy_mask(mdp.action_values(V, 0.9))
    for a, b in zip(route, route[1:]):
        moves = [m for m in range(len(ACTIONS)) if mdp.next_state[a, m, 0] == b]
        assert any(best[a, m] for m in moves)
    # ... so it is a shortest route: 5 moves from the lower left, round the block.
    assert len(route) - 1 == 5
    # And late episodes mostly end at the Treasure (ε = 0.1 still explores).
    margin("late episodes at the Treasure",
           np.mean([e.end == "treasure" for e in episodes[-100:]]), above=0.8)


def test_q_values_approach_value_iteration_on_the_slippery_maze():
    settings = LearningSettings("q_learning", SAMPLE, prob=0.8, episodes=2000, seed=0)
    learning, _ = learn_maze(settings)
    V = reference_values(learning.mdp, 0.9)
    acting = learning.mdp.prob.sum(axis=(1, 2)) > 0
    gap = np.abs(learning.snapshot()["values"] - V)[acting]
    untrained = np.abs(V)[acting]
    assert gap.mean() < 0.5 * untrained.mean()


@pytest.mark.parametrize("seed", learning_seeds(0))
@pytest.mark.learning
def test_sarsa_learns_the_safer_path_where_q_learning_walks_along_the_danger(seed, margin):
    """The book's point about on-policy learning, on the cliff, with the same seed.

    With ε = 0.3, a random move down from the row next to the Danger falls in. Q-learning's
    target assumes the best next action and ignores those falls: its greedy route is the
    short one along the Danger. SARSA's target is the action really taken, exploration and
    all: it learns that the row next to the Danger is costly and goes a row higher. While
    learning, SARSA therefore falls in less often and earns more.
    """
    results = {}
    for name in ("q_learning", "sarsa"):
        learning, episodes = learn_maze(LearningSettings(name, **{**CLIFF_SETTINGS,
                                                                   "seed": seed}))
        mdp = learning.mdp
        route = greedy_route(learning.snapshot()["table"], mdp)
        assert reaches_treasure(route, mdp)
        late = episodes[-200:]
        results[name] = {
            "route": route,
            "touching": touches_danger(route, mdp),
            "falls": np.mean([e.end == "danger" for e in late]),
            "reward": np.mean([e.reward for e in late]),
        }
    q, sarsa = results["q_learning"], results["sarsa"]
    margin("SARSA's falls ÷ Q-learning's", sarsa["falls"] / q["falls"], below=0.6)
    margin("SARSA's reward − Q-learning's", sarsa["reward"] - q["reward"], above=0.2)
    # Q-learning: the shortest route, 9 moves, all along the row next to the Danger.
    assert cells(q["route"], 8) == [(3, 0), *[(2, c) for c in range(8)], (3, 7)]
    assert q["touching"] == 8
    # SARSA: 11 moves, mostly a row higher: besides the start and the Treasure, at most one
    # cell of its route is next to the Danger (seeds 0-4: none on four, one on seed 3).
    assert len(sarsa["route"]) - 1 == 11
    assert (1, 3) in cells(sarsa["route"], 8)
    assert sarsa["touching"] <= 3


def test_the_greedy_route_stops_where_the_policy_goes_round_in_circles():
    mdp = GridMDP(SAMPLE, 1.0)
    table = np.zeros((12, 4))
    table[8, ACTIONS.index(Action.UP)] = 1.0    # start (2, 0) -> (1, 0)
    table[4, ACTIONS.index(Action.DOWN)] = 1.0  # (1, 0) -> back to the start
    route = greedy_route(table, mdp)
    assert route == [8, 4, 8] and not reaches_treasure(route, mdp)


def test_the_reference_is_value_iteration_or_none_when_it_cannot_converge():
    mdp = GridMDP(SAMPLE, 0.8, STEP_REWARD)
    V = reference_values(mdp, 0.9)
    expected, _ = value_iteration(mdp, 0.9)
    assert np.allclose(V, expected)
    # γ = 1 and no cell ends an episode: values fall without end.
    assert reference_values(GridMDP([[0, 0], [0, 0]], 0.8, STEP_REWARD), 1.0) is None


def test_the_recorder_stops_a_learner_mid_episode():
    from DP.learning import LearningStopped

    learning = MazeLearning(LearningSettings("q_learning", SAMPLE, episodes=10))
    steps = []

    def stop_after_two(episode, more):
        steps.append(episode)
        if len(steps) == 2:
            learning.recorder.stopping = True

    learning.recorder.on_episode = stop_after_two
    with pytest.raises(LearningStopped):
        learning.run()
    assert len(steps) == 2
    assert isinstance(learning.recorder, EpisodeRecorder)


# ---------------------------------------------------------------------- changes while learning

EPSILON_LEARNERS = [name for name, learner in LEARNERS.items()
                    if learner.uses_epsilon and not learner.preferences]


@pytest.mark.parametrize("name", EPSILON_LEARNERS)
@pytest.mark.parametrize("seed", learning_seeds(0))
@pytest.mark.learning
def test_epsilon_set_between_episodes_rules_the_next_ones(name, seed, margin):
    """ε 0.05 for 150 episodes on the cliff, then ε = 1: from episode 151 every move is random,
    and a random walk next to the Danger row falls in almost every time."""
    episodes = []

    def on_episode(episode, more):
        episodes.append(episode)
        if episode.number == 150:
            learning.tune(epsilon=1.0)

    learning = MazeLearning(LearningSettings(name, CLIFF, prob=1.0, epsilon=0.05, episodes=200,
                                             seed=seed), on_episode)
    learning.run()
    falls = [np.mean([e.end == "danger" for e in part])
             for part in (episodes[100:150], episodes[150:])]
    margin("falls with ε = 0.05", falls[0], below=0.4)
    margin("falls with ε = 1 from the next episode", falls[1], above=0.8)


@pytest.mark.parametrize("name", [n for n, learner in LEARNERS.items()
                                  if learner.uses_learning_rate])
def test_a_learning_rate_set_between_episodes_rules_the_next_ones(name):
    """α = 0 from episode 21 on: the agent goes on walking, and its table no longer moves."""
    tables = {}

    def on_episode(episode, more):
        if episode.number == 20:
            learning.tune(learning_rate=0.0)
        if episode.number in (20, 40):
            tables[episode.number] = learning.snapshot()["table"]

    learning = MazeLearning(LearningSettings(name, SAMPLE, episodes=40), on_episode)
    learning.run()
    assert np.array_equal(tables[20], tables[40])
    assert learning.recorder.episodes == 40
    assert learning.learning_rate.value == 0.0


def test_sarsa_lambda_takes_its_lambda_at_the_start_and_between_episodes():
    learning = MazeLearning(LearningSettings("sarsa_lambda", SAMPLE, lambda_=0.3, episodes=5))
    assert learning._knobs.lambda_ == 0.3
    learning.tune(lambda_=0.9)
    assert learning._knobs.lambda_ == 0.9
    # Without a λ of its own, the settings give the learner's default; only SARSA(λ) has one.
    assert LearningSettings("sarsa_lambda", SAMPLE).lambda_ == LEARNERS["sarsa_lambda"].lambda_
    assert LearningSettings("sarsa", SAMPLE).lambda_ is None


def test_dyna_plans_in_its_model_between_real_steps():
    """After 5 real episodes, Dyna-Q with 50 planning steps per real step has found the way
    to the Treasure on every seed; without planning (plain Q-learning) it mostly has not."""
    def found(planning_steps, seed):
        learning, _ = learn_maze(LearningSettings("dyna", SAMPLE, prob=1.0, episodes=5,
                                                  seed=seed, planning_steps=planning_steps))
        return reaches_treasure(greedy_route(learning.snapshot()["table"], learning.mdp),
                                learning.mdp)

    seeds = range(5)
    assert all(found(50, seed) for seed in seeds)
    assert sum(found(0, seed) for seed in seeds) <= 2  # measured: 1 of seeds 0-4


@pytest.mark.parametrize("name", list(LEARNERS))
def test_a_reward_edit_keeps_the_table_and_the_next_episode_meets_it(name):
    """``change_maze`` between two episodes: the table is the same object, untouched, and the
    next episodes are paid by the new rewards (here −1 for every ordinary cell)."""
    costly = [[-1, -1, -1, 1], [-1, 0, -1, -1], [-1, -1, -1, -1]]
    seen = {}
    episodes = []

    def on_episode(episode, more):
        episodes.append(episode)
        if episode.number == 10:
            seen["before"] = learning.snapshot()["table"]
            learning.change_maze(SAMPLE, 0.8, costly)
            seen["after"] = learning.snapshot()["table"]

    learning = MazeLearning(LearningSettings(name, SAMPLE, episodes=20), on_episode)
    learning.run()
    assert np.array_equal(seen["before"], seen["after"])
    for episode in episodes[10:]:
        assert episode.reward == pytest.approx(sum(costly[s // 4][s % 4]
                                                   for s in episode.path[1:]))
    assert learning.recorder.episodes == 20


@pytest.mark.parametrize("seed", learning_seeds(0, 1, 2, 3, 4))
@pytest.mark.learning
def test_q_learning_re_routes_when_the_rewards_change_under_it(seed, margin):
    """As in reinforcejs: the Treasure's and the Danger's rewards are swapped after 300
    episodes. The agent keeps its table, meets the new rewards, and its greedy route moves
    from the Treasure to the cell that now pays +1."""
    swapped = [[-0.04, -0.04, -0.04, -1], [-0.04, 0, -0.04, 1], [-0.04] * 4]
    routes, episodes = {}, []

    def on_episode(episode, more):
        episodes.append(episode)
        if episode.number == 300:
            routes["before"] = greedy_route(learning.snapshot()["table"], learning.mdp)
            learning.change_maze(SAMPLE, 1.0, swapped)

    set_seed(seed)
    learning = MazeLearning(LearningSettings("q_learning", SAMPLE, prob=1.0, episodes=600,
                                             seed=seed), on_episode)
    learning.run()
    after = greedy_route(learning.snapshot()["table"], learning.mdp)
    assert routes["before"][-1] == 3 and after[-1] == 7  # (0, 3) before, (1, 3) after
    margin("late episodes ending on the +1 cell",
           np.mean([e.path[-1] == 7 for e in episodes[-100:]]), above=0.8)


def test_a_maze_of_another_size_is_refused():
    learning = MazeLearning(LearningSettings("q_learning", SAMPLE))
    with pytest.raises(ValueError, match="size"):
        learning.change_maze(CLIFF, 0.8)
