"""A learner types what the book prints: every name of the book's code, where the book has it.

``doc/book_names.md`` lists each class, function and method that the book's code defines, with
its arguments, under the file of this repository that must define it. This test reads that
list and checks each name against the file's source (its syntax tree, so nothing is run):
the name is defined in that file, and its arguments begin with the book's, in the book's
order (ours may add arguments after them, with defaults; ``*args`` and ``**kwargs`` are not
compared). Only ``main`` is exempt from the
arguments: every script here takes ``main(argv=None)`` (the command line), where the book's
took the options it had parsed. A name that this project cannot keep is in ``NOT_KEPT``, with
the reason.
"""

import ast
import functools
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LIST = ROOT / "doc" / "book_names.md"

# Book names this project does not define where the book does, and why. Each place also says
# so in a comment. Keep this list short: a name that comes back must leave it (a test checks).
_ONE_CARTPOLE_OBSERVER = ("one CartPoleObserver in FN/fn_framework.py: the DQN and A2C test "
                          "modes use it too")
_SCALER_IN_THE_MODEL = ("the state scaler is a layer inside the .keras model: no second file "
                        "to save, load or name")
NOT_KEPT = {
    ("FN/value_function_agent.py", "CartPoleObserver"): _ONE_CARTPOLE_OBSERVER,
    ("FN/value_function_agent.py", "CartPoleObserver.transform"): _ONE_CARTPOLE_OBSERVER,
    ("FN/policy_gradient_agent.py", "CartPoleObserver"): _ONE_CARTPOLE_OBSERVER,
    ("FN/policy_gradient_agent.py", "CartPoleObserver.transform"): _ONE_CARTPOLE_OBSERVER,
    ("FN/policy_gradient_agent.py", "PolicyGradientAgent.save"): _SCALER_IN_THE_MODEL,
    ("FN/policy_gradient_agent.py", "PolicyGradientAgent.load"): _SCALER_IN_THE_MODEL,
    ("FN/policy_gradient_agent.py", "PolicyGradientAgent.scaler_path"): _SCALER_IN_THE_MODEL,
    ("FN/policy_gradient_continuous_agent.py", "PolicyGradientContinuousAgent.save"):
        _SCALER_IN_THE_MODEL,
    ("FN/policy_gradient_continuous_agent.py", "PolicyGradientContinuousAgent.scaler_path"):
        _SCALER_IN_THE_MODEL,
    ("FN/policy_gradient_continuous_agent.py", "SampleLayer.build"):
        "Keras 3 builds a layer without weights itself",
    ("FN/policy_gradient_continuous_agent.py", "PendulumObserver.step"):
        "gymnasium's Pendulum takes the action array as the agent gives it",
    ("FN/a2c_agent.py", "SampleLayer.build"): "Keras 3 builds a layer without weights itself",
    ("FN/a2c_agent.py", "ActorCriticTrainer.episode_begin"):
        "A2C keeps nothing per episode: the framework's own episode_begin runs",
}
# Book names defined here with other arguments than the book's, and why.
ARGUMENTS_DIFFER = {
    ("FN/a2c_agent.py", "ActorCriticTrainer.train"):
        "A2C learns from its first rollout on: no initial_count of random episodes",
    ("FN/policy_gradient_continuous_agent.py", "PolicyGradientContinuousAgent.set_updater"):
        "Soft Actor-Critic trains the actor, the critics and the entropy weight: 3 optimizers",
}


def book_names():
    """``[(file, name, [argument, ...]), ...]`` from doc/book_names.md, in its order."""
    names, path, klass = [], None, None
    for line in LIST.read_text(encoding="utf-8").splitlines():
        if heading := re.match(r"## (\S+\.py)", line):
            path, klass = heading.group(1), None
        elif found := re.match(r"- class `(\w+)\(", line):
            klass = found.group(1)
            names.append((path, klass, None))
        elif found := re.match(r"(  )?- `(\w+)\((.*)\)`", line):
            method = bool(found.group(1))
            if not method:
                klass = None
            arguments = [a.strip().split("=")[0] for a in found.group(3).split(",")
                         if a.strip() and not a.strip().startswith("*")]
            names.append((path, f"{klass}.{found.group(2)}" if method else found.group(2),
                          arguments))
    return names


@functools.cache
def definitions(path):
    """``{name: node}`` of the classes, functions and methods at the top of ``path``."""
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    found = {}
    functions = (ast.FunctionDef, ast.AsyncFunctionDef)
    for node in tree.body:
        if isinstance(node, (*functions, ast.ClassDef)):
            found[node.name] = node
        if isinstance(node, ast.ClassDef):
            found.update({f"{node.name}.{item.name}": item for item in node.body
                          if isinstance(item, functions)})
    return found


def arguments_of(function):
    """The names of a function's positional arguments (``*args`` and ``**kwargs`` left out)."""
    return [a.arg for a in function.args.posonlyargs + function.args.args]


NAMES = book_names()


def test_the_list_holds_every_name_of_the_book():
    # 333 names in 29 files: a damaged list must not pass by checking nothing.
    assert len(NAMES) == 333
    assert len({path for path, _, _ in NAMES}) == 29


@pytest.mark.parametrize("path", sorted({path for path, _, _ in NAMES}))
def test_each_book_name_is_defined_where_the_book_prints_it(path):
    defined = definitions(path)
    missing = [name for file, name, _ in NAMES
               if file == path and name not in defined and (path, name) not in NOT_KEPT]
    assert missing == [], f"{path} no longer defines {missing}"
    wrong = []
    for file, name, book_arguments in NAMES:
        if (file != path or book_arguments is None or name not in defined or name == "main"
                or (path, name) in ARGUMENTS_DIFFER):
            continue
        ours = arguments_of(defined[name])
        if ours[:len(book_arguments)] != book_arguments:
            wrong.append(f"{name}({', '.join(ours)}) against the book's "
                         f"({', '.join(book_arguments)})")
    assert wrong == [], f"{path}: arguments differ from the book's: {wrong}"


def test_each_name_not_kept_has_a_reason_and_is_really_missing():
    # Once a name is defined where the book has it again, it must leave NOT_KEPT, so that
    # the test guards it from then on.
    assert all(reason for reason in NOT_KEPT.values())
    listed = {(path, name) for path, name, _ in NAMES}
    assert set(NOT_KEPT) <= listed
    back = [key for key in NOT_KEPT if key[1] in definitions(key[0])]
    assert back == []
    assert all(reason for reason in ARGUMENTS_DIFFER.values())
    assert set(ARGUMENTS_DIFFER) <= listed
