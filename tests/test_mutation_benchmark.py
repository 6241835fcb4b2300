"""benchmarks/mutation.py: which functions it counts, how it scores, and that it finds its modules.

The mutation run itself takes many minutes and is not part of the suite; these check the
parts that decide what its figures mean.
"""

from pathlib import Path

import pytest

from tests.script_modules import load_script

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def mutation():
    return load_script("benchmarks/mutation.py")


SOURCE = '''
def n_step_returns(rewards):
    return rewards

def plot_curves(curves):
    pass

def main(argv=None):
    pass

def run_single(args, episodes):
    pass

class Agent:
    def update(self):
        pass

    @staticmethod
    def make_table(env):
        pass

    @property
    def size(self):
        return 1

    def render(self):
        pass
'''


def test_counts_library_functions_and_leaves_out_the_command_line_and_drawing(mutation):
    # mutmut does not mutate decorated functions (a property here), except static and class
    # methods; main, its pieces that take the parsed args and the drawing functions are left
    # out of the count on purpose.
    assert mutation.mutated_functions(SOURCE) == [
        (None, "n_step_returns"), ("Agent", "update"), ("Agent", "make_table")]
    assert mutation.mutated_functions(SOURCE, only="n_step_returns") == [
        (None, "n_step_returns")]


def test_mutant_patterns_use_mutmut_names(mutation):
    assert (mutation.mutant_pattern("DP/planner.py", None, "value_iteration")
            == "DP.planner.x_value_iteration__mutmut_*")
    assert (mutation.mutant_pattern("EL/q_learning.py", "QLearningAgent", "update")
            == "EL.q_learning.xǁQLearningAgentǁupdate__mutmut_*")


def test_a_timeout_counts_as_killed_and_an_untested_mutant_as_not(mutation):
    codes = {"a": 1, "b": 3, "c": 36, "d": 0, "e": 33, "f": None}
    counts, score = mutation.tally(codes)
    assert counts == {"killed": 2, "timeout": 1, "survived": 1, "no tests": 1, "other": 1}
    assert score == pytest.approx(3 / 6)


def test_every_module_exists_and_the_n_step_returns_are_among_them(mutation):
    for path in mutation.MODULES:
        assert (ROOT / path).is_file(), path
    source = (ROOT / "EL" / "n_step_sarsa.py").read_text(encoding="utf-8")
    assert "EL/n_step_sarsa.py" in mutation.MODULES
    assert ("NStepSARSAAgent", "update") in mutation.mutated_functions(source)
