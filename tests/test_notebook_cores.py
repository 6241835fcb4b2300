"""The core cells of the notebooks compute what the day's modules compute.

Each notebook shows the 10-30 lines at the heart of its algorithm in a cell tagged "core", with
the cell's metadata ``"core": name``. A learner reads and changes that cell; the project runs
the module. Here each core cell's source is run on its own, on a fixed input, and its answer is
compared with the module's, so that the two cannot drift apart: a change to the arithmetic of
either side fails one of these tests.
"""

from common import set_seed

import nbformat
import numpy as np
import pytest

from tests.script_modules import ROOT

# name of the core → the notebook that shows it
CORES = {
    "value_iteration_sweep": "DP/notebooks/dynamic_programming.ipynb",
    "policy_evaluation_and_improvement": "DP/notebooks/dynamic_programming.ipynb",
    "q_learning_update": "EL/notebooks/q_learning.ipynb",
    "sarsa_update": "EL/notebooks/sarsa.ipynb",
    "monte_carlo_return": "EL/notebooks/monte_carlo.ipynb",
    "actor_critic_td": "EL/notebooks/actor_critic.ipynb",
    "dqn_step": "FN/notebooks/dqn_and_a2c.ipynb",
    "reinforce": "FN/notebooks/dqn_and_a2c.ipynb",
    "a2c_loss": "FN/notebooks/dqn_and_a2c.ipynb",
    "es_update": "EV/notebooks/evolution.ipynb",
    "dyna_planning": "MM/notebooks/dyna.ipynb",
    "dagger": "IM/notebooks/dagger.ipynb",
    "maxent_gradient": "IM/notebooks/inverse_rl.ipynb",
}


def core_cells(path):
    """``{name: source}`` of the cells tagged "core" in the notebook at ``path``."""
    notebook = nbformat.read(ROOT / path, as_version=4)
    return {cell.metadata["core"]: cell.source for cell in notebook.cells
            if "core" in cell.metadata.get("tags", [])}


def run_core(name):
    """The namespace left by running the core cell ``name`` alone, as a fresh kernel would."""
    namespace = {"__name__": f"core_{name}"}
    source = core_cells(CORES[name])[name]
    exec(compile(source, f"<{CORES[name]}: core {name}>", "exec"), namespace)
    return namespace


def test_every_core_cell_is_in_its_notebook_and_short():
    found = {}
    for path in sorted(set(CORES.values())):
        found.update({name: (path, source) for name, source in core_cells(path).items()})
    assert {name: path for name, (path, _) in found.items()} == CORES
    for name, (_, source) in found.items():
        assert 8 <= len(source.splitlines()) <= 40, name  # a core, not a module


# Day2: dynamic programming, against the book's listing (DP/planner.py)

def maze(move_prob=0.8, rewards=None):
    from DP.planner import SAMPLE_GRID
    from DP.vectorized_planner import Environment

    return Environment(SAMPLE_GRID, move_prob=move_prob, rewards=rewards)


COSTLY = [[-1.5] * 4 for _ in range(3)]
COSTLY[0][3], COSTLY[1][3] = 1.0, -1.0


@pytest.mark.parametrize("move_prob, rewards, gamma", [(0.8, None, 0.9), (0.5, None, 0.95),
                                                       (0.8, COSTLY, 0.9)])
def test_value_iteration_sweep_matches_the_planner(move_prob, rewards, gamma):
    from DP.planner import ValueIterationPlanner

    core = run_core("value_iteration_sweep")
    env = maze(move_prob, rewards)
    planner = ValueIterationPlanner(env)
    expected = planner.plan(gamma=gamma, threshold=1e-4)
    V, sweeps = core["value_iteration"](env, gamma, 1e-4)
    np.testing.assert_allclose(planner.dict_to_grid(V), expected, rtol=0, atol=1e-12)
    assert sweeps == len(planner.log)
    # One sweep from zero: only the cells next to the ends have learned something.
    V = {s: 0.0 for s in env.states}
    core["value_iteration_sweep"](env, V, gamma)
    np.testing.assert_allclose(planner.dict_to_grid(V),
                               ValueIterationPlanner(env).plan(gamma=gamma, threshold=1e9),
                               rtol=0, atol=1e-12)


@pytest.mark.parametrize("move_prob, rewards", [(0.8, None), (0.5, None), (0.8, COSTLY)])
def test_policy_evaluation_and_improvement_match_the_planner(move_prob, rewards):
    from DP.planner import PolicyIterationPlanner

    core = run_core("policy_evaluation_and_improvement")
    env = maze(move_prob, rewards)
    planner = PolicyIterationPlanner(env)
    planner.initialize()
    uniform = {s: dict(planner.policy[s]) for s in env.states}
    assert core["evaluate_policy"](env, uniform, 0.9, 1e-4) == pytest.approx(
        planner.estimate_by_policy(0.9, 1e-4), abs=1e-12)

    expected = planner.plan(gamma=0.9, threshold=1e-4)
    policy, improvements = uniform, 0
    while True:
        V = core["evaluate_policy"](env, policy, 0.9, 1e-4)
        improvements += 1
        if core["improve_policy"](env, policy, V, 0.9):
            break
    np.testing.assert_allclose(planner.dict_to_grid(V), expected, rtol=0, atol=1e-12)
    assert policy == planner.policy
    assert improvements == len(planner.log)


# Day3: the table learners, against EL/

def random_table(rng):
    return rng.normal(size=(16, 4))


def test_q_learning_update_matches_the_agent():
    from EL.q_learning import QLearningAgent

    update = run_core("q_learning_update")["q_learning_update"]
    rng = np.random.default_rng(0)
    agent = QLearningAgent()
    agent.Q = random_table(rng)
    Q = agent.Q.copy()
    for _ in range(200):
        s, a, n_s = rng.integers(16), rng.integers(4), rng.integers(16)
        reward, terminated = float(rng.normal()), bool(rng.random() < 0.3)
        gamma, alpha = float(rng.uniform(0.5, 1)), float(rng.uniform(0.05, 0.5))
        agent.update(s, a, reward, n_s, terminated, gamma, alpha)
        update(Q, s, a, reward, n_s, terminated, gamma, alpha)
    np.testing.assert_allclose(Q, agent.Q, rtol=0, atol=1e-12)


def test_sarsa_update_matches_the_agent():
    from EL.sarsa import SARSAAgent

    update = run_core("sarsa_update")["sarsa_update"]
    rng = np.random.default_rng(1)
    agent = SARSAAgent()
    agent.Q = random_table(rng)
    Q = agent.Q.copy()
    for _ in range(200):
        s, a, n_s, n_a = rng.integers(16), rng.integers(4), rng.integers(16), rng.integers(4)
        reward, terminated = float(rng.normal()), bool(rng.random() < 0.3)
        gamma, alpha = float(rng.uniform(0.5, 1)), float(rng.uniform(0.05, 0.5))
        agent.update(s, a, reward, n_s, n_a, terminated, gamma, alpha)
        update(Q, s, a, reward, n_s, n_a, terminated, gamma, alpha)
    np.testing.assert_allclose(Q, agent.Q, rtol=0, atol=1e-12)


def lake(slippery):
    from envs.frozen_lake import make_frozen_lake

    return make_frozen_lake(slippery=slippery)


@pytest.mark.parametrize("slippery", [False, True])
def test_monte_carlo_cell_learns_the_agents_table(slippery):
    from EL.monte_carlo import MonteCarloAgent

    learn = run_core("monte_carlo_return")["monte_carlo_learn"]
    env = lake(slippery)
    set_seed(3, env)
    agent = MonteCarloAgent(epsilon=0.2)
    agent.learn(env, episode_count=300, gamma=0.8, report_interval=10**9)
    set_seed(3, env)
    mine = MonteCarloAgent(epsilon=0.2)
    Q = learn(mine, env, 300, gamma=0.8)
    assert np.abs(agent.Q).sum() > 0  # it did learn something
    np.testing.assert_allclose(Q, agent.Q, rtol=0, atol=1e-12)
    assert mine.reward_log == agent.reward_log


@pytest.mark.parametrize("slippery", [False, True])
def test_actor_critic_cell_learns_the_trainers_tables(slippery):
    from EL.actor_critic import Actor, ActorCritic, Critic

    learn = run_core("actor_critic_td")["actor_critic_learn"]
    env = lake(slippery)
    set_seed(4, env)
    actor, critic = ActorCritic(Actor, Critic).train(env, episode_count=150, gamma=0.8,
                                                      learning_rate=0.2,
                                                      report_interval=10**9)
    set_seed(4, env)
    my_actor, my_critic = learn(Actor(env), Critic(env), env, 150, gamma=0.8, learning_rate=0.2)
    assert np.abs(critic.V).sum() > 0
    np.testing.assert_allclose(my_critic.V, critic.V, rtol=0, atol=1e-12)
    np.testing.assert_allclose(my_actor.Q, actor.Q, rtol=0, atol=1e-12)


# Day6: evolution strategies, Dyna, DAgger, MaxEnt IRL

def test_evolution_strategies_cell_takes_the_modules_step():
    from EV.evolution import es_update

    core = run_core("es_update")
    assert np.abs(core["theta"] - core["target"]).max() < 0.5  # the cell's demo got there
    step = core["es_step"]
    rng = np.random.default_rng(8)
    theta = rng.normal(size=50).astype(np.float32)
    noises = rng.standard_normal((20, 50)).astype(np.float32)
    for rewards in (rng.normal(size=20), np.r_[np.full(10, -8.0), np.full(10, 2.0)]):
        expected = es_update(theta, noises, rewards, 0.5, 0.2)
        assert np.abs(expected - theta).max() > 0.01
        np.testing.assert_allclose(step(theta, noises, rewards, 0.5, 0.2), expected,
                                   rtol=1e-5, atol=1e-6)
    same = np.full(20, -7.0)  # every member equally good: no direction, θ stays
    np.testing.assert_array_equal(step(theta, noises, same, 0.5, 0.2), theta)


@pytest.mark.parametrize("slippery, steps", [(False, 5), (True, 10)])
def test_dyna_cell_learns_the_agents_table(slippery, steps):
    from MM.dyna import DynaAgent

    learn = run_core("dyna_planning")["dyna_learn"]
    env = lake(slippery)
    set_seed(5, env)
    agent = DynaAgent(epsilon=0.3)
    agent.learn(env, episode_count=150, steps_in_model=steps, report_interval=0)
    set_seed(5, env)
    mine = learn(DynaAgent(epsilon=0.3), env, 150, steps)
    assert np.abs(agent.q_table(16)).sum() > 0
    np.testing.assert_allclose(mine.q_table(16), agent.q_table(16), rtol=0, atol=1e-12)


def test_dagger_cell_collects_the_students_labels():
    from envs.frozen_lake import transition_table
    from IM import dagger

    run = run_core("dagger")["dagger_loop"]
    env = dagger.FrozenLakeObserver(slippery=True)
    T = transition_table(env.env)
    rng = np.random.default_rng(6)
    Q = T @ rng.normal(size=16)  # any fixed teacher will do: its labels are what counts

    class Teacher(dagger.TeacherAgent):
        def estimate(self, state):
            return Q[int(np.argmax(state))]

    results = []
    for imitate in (None, run):
        labels = []
        set_seed(6)
        env.reset(seed=6)
        student = dagger.Student(env)
        teacher = Teacher(env, epsilon=0.5)
        if imitate is None:
            rewards = student.imitate(env, teacher, initial_step=1, train_step=4,
                                      report_interval=0,
                                      callback=lambda count, s, labels=labels: labels.append(count))
        else:
            rewards = imitate(student, env, teacher, initial_step=1, train_step=4)
        results.append((rewards, student.model.predict(env.all_states()), labels))
    (rewards, predicted, labels), (my_rewards, my_predicted, _) = results
    assert labels[-1] > labels[0]  # the student's episodes added labels
    assert my_rewards == rewards
    np.testing.assert_array_equal(my_predicted, predicted)


def test_maxent_cell_estimates_the_modules_reward():
    from IM.irl_demo import make_env, teacher_demonstrations
    from IM.maxent import MaxEntIRL

    estimate = run_core("maxent_gradient")["maxent_irl"]
    env = make_env()
    set_seed(0)
    trajectories = [states for states, _ in teacher_demonstrations(env, 10, seed=0)]
    expected = MaxEntIRL(env).estimate(trajectories, epoch=8, learning_rate=0.1, gamma=0.9)
    mine = estimate(MaxEntIRL(env), trajectories, epoch=8, learning_rate=0.1, gamma=0.9)
    assert np.abs(expected).max() > 0.1
    np.testing.assert_allclose(mine, expected, rtol=0, atol=1e-10)


# Day4: DQN, REINFORCE and A2C, against FN/ (TensorFlow is imported only here)

def test_dqn_step_matches_the_agents_update():
    import keras

    from FN.dqn_agent import DeepQNetworkAgentTest
    from FN.fn_framework import Experience
    from FN.replay_buffer import ReplayBuffer

    core = run_core("dqn_step")
    errors = np.linspace(-3, 3, 61).astype(np.float32)
    # Keras's Huber loss, one error a row: the agent's loss is its mean over the batch.
    np.testing.assert_allclose(core["huber_loss"](errors),
                               keras.losses.huber(np.zeros((61, 1)), errors[:, None]), atol=1e-7)

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    buffer = ReplayBuffer(100)
    for _ in range(100):
        buffer.append(Experience(rng.normal(size=4).astype(np.float32), int(rng.integers(2)),
                                 float(rng.normal()), rng.normal(size=4).astype(np.float32),
                                 bool(rng.random() < 0.2)))
    agent = DeepQNetworkAgentTest(0.0, [0, 1])
    # Plain gradient descent: the weights move by the gradient itself (Adam's first step
    # would move each weight by ±lr, whatever the loss).
    agent.initialize([buffer[0]], keras.optimizers.SGD(learning_rate=0.1))
    agent.jit_compile = False  # XLA would take longer to compile than this one step runs
    agent.set_updater(keras.optimizers.SGD(learning_rate=0.1))
    model = keras.models.clone_model(agent.model)
    model.set_weights(agent.model.get_weights())
    agent.update_teacher()
    for variable in agent.model.trainable_variables:  # the model moves away from its teacher
        variable.assign(variable + 0.1)
    model.set_weights(agent.model.get_weights())
    teacher = agent._teacher_model
    np.random.seed(7)
    expected = agent.update(buffer.sample(32), 0.9)
    np.random.seed(7)
    loss = core["dqn_step"](model, teacher, keras.optimizers.SGD(learning_rate=0.1), buffer,
                            32, 0.9)
    assert loss == pytest.approx(expected, rel=1e-5)
    for mine, theirs in zip(model.get_weights(), agent.model.get_weights()):
        np.testing.assert_allclose(mine, theirs, rtol=1e-4, atol=1e-6)


def test_reinforce_matches_the_agent():
    import keras
    from sklearn.preprocessing import StandardScaler

    from FN.policy_gradient_agent import PolicyGradientAgent, discounted_returns

    core = run_core("reinforce")
    rewards = np.random.default_rng(8).normal(size=30)
    np.testing.assert_allclose(core["discounted_returns"](rewards, 0.9),
                               discounted_returns(rewards, 0.9), atol=1e-12)

    keras.utils.set_random_seed(8)
    states = np.random.default_rng(9).normal(size=(30, 4)).astype(np.float32)
    actions = np.arange(30) % 2
    agent = PolicyGradientAgent([0, 1])
    agent.scaler = StandardScaler().fit(states)
    agent.make_model(states.shape[1:])
    returns = core["discounted_returns"](rewards, 0.9).astype(np.float32)
    expected = agent.policy_loss(states, actions, returns)
    probs = agent.model(states)
    assert float(core["reinforce_loss"](probs, actions, returns)) == pytest.approx(
        float(expected), rel=1e-6)


def test_a2c_returns_and_loss_match_the_modules():
    import tensorflow as tf

    from FN.a2c_agent import ActorCriticAgent, actor_critic_loss, n_step_returns

    core = run_core("a2c_loss")
    rng = np.random.default_rng(10)
    steps, envs = 8, 5
    rewards = rng.normal(size=(steps, envs)).astype(np.float32)
    values = rng.normal(size=(steps, envs)).astype(np.float32)
    terminated = (rng.random((steps, envs)) < 0.2).astype(np.float32)
    last_values = rng.normal(size=envs).astype(np.float32)
    no = np.zeros((steps, envs), dtype=bool)
    expected = n_step_returns(rewards, values, terminated, no, ~no, last_values, 0.9)
    returns = core["n_step_returns"](rewards, terminated, last_values, 0.9)
    np.testing.assert_allclose(returns, expected, rtol=1e-6, atol=1e-6)

    logits = tf.constant(rng.normal(size=(40, 3)), tf.float32)
    values = tf.constant(rng.normal(size=40), tf.float32)
    actions = rng.integers(3, size=40)
    returns = tf.constant(returns.reshape(-1), tf.float32)
    terms = {}
    entropy_of = ActorCriticAgent([0, 1, 2]).categorical_entropy
    for name, loss in (("module", lambda logits, *args: actor_critic_loss(
            logits, *args, tf.ones(40), entropy_of(logits), 0.5, 0.01, False)),
                       ("core", core["a2c_loss"])):
        with tf.GradientTape() as tape:
            tape.watch([logits, values])
            result = loss(logits, values, actions, returns)
        terms[name] = ([float(x) for x in result],
                       [g.numpy() for g in tape.gradient(result[0], [logits, values])])
    (expected, expected_gradients), (mine, gradients) = terms["module"], terms["core"]
    assert mine == pytest.approx(expected, rel=1e-5)
    for g, e in zip(gradients, expected_gradients):
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-6)

