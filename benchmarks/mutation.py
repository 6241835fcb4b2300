"""Benchmark: how many small planted bugs do the tests catch? (mutation testing of the core)

A *mutant* is a copy of the code with one small change, the kind a tired programmer makes:
``<`` for ``<=``, ``+ 1`` added to a constant, an argument dropped, ``None`` for a value. A
test suite *kills* a mutant when at least one test fails on it. The share of mutants killed
tells how much of the code's behaviour the tests really pin down, which line coverage cannot:
a line can run under a test that never looks at what it computed.

This script runs mutmut 3 (``pip install -e ".[mutation]"``) on the NumPy-only core, one module
at a time, and prints the share killed for each. A mutant counts as killed when a test fails
or when the tests time out on it (the change made the code loop). The target is at least 85%
in every module.

How it works, and why this way:

- Each module is mutated in a temporary copy of the repository, so that the working tree is
  never touched while mutmut rewrites files, and so that each module gets its own settings.
- mutmut first runs the module's tests once and records which tests call which function.
  Each mutant then runs only the tests that reach the mutated function, with ``-x``.
- Only the library code counts. ``main`` (argument parsing, printing), the pieces of it that
  take its parsed command line (a first parameter named ``args``) and the functions that
  draw (``plot_*``, ``render*``, ``show_*``, and the game window's ``_render_window`` and
  ``close``) are left out: their mutants change help texts, file names, colours and layouts
  that no test of the algorithm could see.
- The n-step returns are mutated in ``EL/n_step_sarsa.py``. A2C's ``n_step_returns``
  (``FN/a2c_agent.py``) is NumPy code too, but its module and its tests import TensorFlow,
  and mutmut's forked test runs hang there (a fork after TensorFlow has started its threads),
  so it is left out.

Mutation runs are CPU heavy: the script lowers its own priority (``nice`` 10) and uses two
workers unless told otherwise. From the repository root:

    python benchmarks/mutation.py                        # every module (an hour or more on 2 cores)
    python benchmarks/mutation.py --modules DP/planner.py --survivors
"""

import argparse
import ast
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_SCORE = 0.85

# The tests of Day3's agents themselves. The comparison and script tests run the same agents
# for many episodes, in several processes, and would make each mutant take minutes.
EL_TESTS = ["tests/EL/test_el_agent*.py", "tests/EL/test_el_learn*.py",
            "tests/EL/test_el_methods.py", "tests/EL/test_actor_softmax.py"]

# Each module to mutate, with the tests that exercise it (pytest arguments, globs allowed).
MODULES = {
    "DP/planner.py": ["tests/DP/test_planner*.py", "tests/DP/test_environment*.py",
                      "tests/DP/test_scripts.py"],
    "DP/environment.py": ["tests/DP/test_environment*.py", "tests/DP/test_planner*.py",
                          "tests/DP/test_scripts.py"],
    "EL/el_agent.py": EL_TESTS,
    "EL/q_learning.py": EL_TESTS,
    "EL/sarsa.py": EL_TESTS,
    "EL/monte_carlo.py": EL_TESTS,
    "EL/actor_critic.py": EL_TESTS,
    "EL/n_step_sarsa.py": EL_TESTS,
    "envs/gridworld.py": ["tests/envs/test_gridworld*.py"],
    "envs/frozen_lake.py": ["tests/envs/test_frozen_lake*.py"],
    "envs/catcher.py": ["tests/envs/test_catcher*.py"],
    "MM/dyna.py": ["tests/MM"],
}
# Left out of the count: the command line and the drawing code (see the docstring).
EXCLUDED_NAMES = {"main", "_render_window", "close"}
EXCLUDED_PREFIXES = ("plot", "render", "show_")

# Copied into each temporary workspace: everything except environments, caches and outputs.
IGNORED_WHEN_COPYING = shutil.ignore_patterns(
    ".git", ".venv*", "outputs", "mutants", "__pycache__", "*.egg-info", ".pytest_cache",
    ".ruff_cache", ".hypothesis", "build", "dist",
)

# mutmut's command line, run as ``mutmut`` would be (``python -m mutmut`` re-imports itself).
MUTMUT = [sys.executable, "-c", "import sys; from mutmut.__main__ import cli; sys.exit(cli())"]

# Prints each named mutant's diff against the original function, as ``mutmut show`` does.
SHOW_DIFFS = """
import sys
from mutmut.mutation.diff_apply import get_diff_for_mutant
for name in sys.argv[2:]:
    print("# " + name)
    print(get_diff_for_mutant(name, path=sys.argv[1]))
"""

# mutmut's exit codes for a mutant, by what they mean here.
KILLED_CODES = {1, 3}
TIMEOUT_CODES = {36, -24, 24, 152, 255}
NO_TESTS_CODES = {5, 33}


def excluded(node):
    """True for ``main``, the drawing functions and the pieces of ``main`` that take its
    parsed command line (a first parameter named ``args``)."""
    parameters = [arg.arg for arg in node.args.args]
    return (node.name in EXCLUDED_NAMES or node.name.startswith(EXCLUDED_PREFIXES)
            or parameters[:1] == ["args"])


def mutated_functions(source, only=None):
    """``(class name or None, function name)`` of every function mutmut may mutate.

    mutmut mutates top-level functions and the methods of top-level classes, except those
    with decorators other than ``staticmethod``/``classmethod`` (``property``, ``tf.function``).
    ``only`` keeps just the function of that name.
    """
    def mutable(node):
        return all(isinstance(d, ast.Name) and d.id in ("staticmethod", "classmethod")
                   for d in node.decorator_list)

    found = []
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and mutable(node):
            found.append((None, node))
        elif isinstance(node, ast.ClassDef):
            found += [(node.name, item) for item in node.body
                      if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))
                      and mutable(item)]
    return [(cls, node.name) for cls, node in found
            if (only is None or node.name == only) and not excluded(node)]


def mutant_pattern(path, cls, name):
    """mutmut's name for the mutants of one function, as a glob: ``DP.planner.x_f__mutmut_*``."""
    module = str(Path(path).with_suffix("")).replace(os.sep, ".")
    key = f"xǁ{cls}ǁ{name}" if cls else f"x_{name}"
    return f"{module}.{key}__mutmut_*"


def tally(exit_codes):
    """Counts of killed, timed-out, surviving and untested mutants, and the share killed."""
    counts = {"killed": 0, "timeout": 0, "survived": 0, "no tests": 0, "other": 0}
    for code in exit_codes.values():
        if code in KILLED_CODES:
            counts["killed"] += 1
        elif code in TIMEOUT_CODES:
            counts["timeout"] += 1
        elif code == 0:
            counts["survived"] += 1
        elif code in NO_TESTS_CODES:
            counts["no tests"] += 1
        else:
            counts["other"] += 1
    total = len(exit_codes)
    score = (counts["killed"] + counts["timeout"]) / total if total else float("nan")
    return counts, score


def packages():
    """The packages and top-level modules of the project, as pyproject.toml lists them."""
    import tomllib

    setup = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]
    setup = setup["setuptools"]
    return [f"{name}.py" for name in setup["py-modules"]] + list(setup["packages"])


def expand(test_args, workspace):
    """Globs in the test arguments expanded inside the workspace; missing files dropped."""
    expanded = []
    for arg in test_args:
        if any(c in arg for c in "*?["):
            expanded += sorted(p.relative_to(workspace).as_posix() for p in workspace.glob(arg))
        elif (workspace / arg).exists():
            expanded.append(arg)
    return expanded


def run_module(path, test_args, *, function=None, max_children=2, keep=False, survivors=False):
    """Mutate one module in a temporary copy of the repository; return its exit codes."""
    workspace = Path(tempfile.mkdtemp(prefix="rl-book-mutation-"))
    try:
        shutil.copytree(ROOT, workspace, ignore=IGNORED_WHEN_COPYING, dirs_exist_ok=True)
        tests = expand(test_args, workspace)
        source = (workspace / path).read_text(encoding="utf-8")
        patterns = [mutant_pattern(path, cls, name)
                    for cls, name in mutated_functions(source, only=function)]
        if not patterns or not tests:
            print(f"{path}: nothing to mutate or no tests found", flush=True)
            return None
        settings = {
            "source_paths": packages(),
            "only_mutate": [path],
            "pytest_add_cli_args_test_selection": tests,
            "pytest_add_cli_args": ["-p", "no:cacheprovider"],
            "use_setproctitle": False,
        }
        with open(workspace / "pyproject.toml", "a", encoding="utf-8") as file:
            file.write("\n[tool.mutmut]\n")
            file.writelines(f"{key} = {json.dumps(value)}\n" for key, value in settings.items())
        # One BLAS thread per worker: the workers are the parallelism.
        env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
               "MKL_NUM_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1",
               "TF_NUM_INTRAOP_THREADS": "1"}
        env.pop("CI", None)
        log = workspace / "mutmut.log"
        with open(log, "w", encoding="utf-8") as out:
            result = subprocess.run(
                [*MUTMUT, "run", "--max-children", str(max_children), *patterns],
                cwd=workspace, env=env, stdout=out, stderr=subprocess.STDOUT,
            )
        meta = workspace / "mutants" / (path + ".meta")
        if result.returncode != 0 or not meta.exists():
            tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
            print(f"{path}: mutmut failed (exit {result.returncode}); the end of its log:\n{tail}")
            return None
        all_codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
        prefixes = tuple(pattern[:-1] for pattern in patterns)
        codes = {key: code for key, code in all_codes.items() if key.startswith(prefixes)}
        if survivors:
            show_survivors(workspace, path, codes, env)
        return codes
    finally:
        if keep:
            print(f"    workspace kept at {workspace}")
        else:
            shutil.rmtree(workspace, ignore_errors=True)


def show_survivors(workspace, path, codes, env):
    """Print the changed lines of every mutant that was neither killed nor timed out."""
    names = [key for key, code in sorted(codes.items())
             if code not in KILLED_CODES and code not in TIMEOUT_CODES]
    shown = subprocess.run([sys.executable, "-c", SHOW_DIFFS, path, *names], cwd=workspace,
                           env=env, capture_output=True, text=True).stdout
    for line in shown.splitlines():
        if line.startswith(("# ", "+", "-")) and not line.startswith(("+++", "---")):
            print("    " + line)


def main(argv=None):
    choices = list(MODULES)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", nargs="+", choices=choices, default=choices,
                        metavar="MODULE",
                        help="modules to mutate, from: " + ", ".join(choices) + " (default: all)")
    parser.add_argument("--max-children", type=int, default=2,
                        help="mutants tested at once (default 2; the machine has 2 cores)")
    parser.add_argument("--survivors", action="store_true",
                        help="print the diff of every mutant that survived")
    parser.add_argument("--keep", action="store_true",
                        help="keep each temporary workspace (mutmut's files) for a closer look")
    args = parser.parse_args(argv)
    if args.max_children < 1:
        parser.error("--max-children must be at least 1")
    try:
        import mutmut  # noqa: F401
    except ImportError:
        parser.error('mutmut is not installed: pip install -e ".[mutation]"')
    os.nice(10)

    rows = []
    for path in args.modules:
        start = time.perf_counter()
        name = path
        codes = run_module(path, MODULES[path], max_children=args.max_children,
                           keep=args.keep, survivors=args.survivors)
        if codes is None:
            rows.append((name, None, None))
            continue
        counts, score = tally(codes)
        rows.append((name, counts, score))
        print(f"{name}: {counts['killed'] + counts['timeout']}/{len(codes)} killed "
              f"({score:.1%}) in {time.perf_counter() - start:.0f} s", flush=True)

    print()
    print(f"{'module':<36} {'mutants':>7} {'killed':>6} {'timeout':>7} {'survived':>8} "
          f"{'no tests':>8} {'score':>6}")
    failed = False
    for name, counts, score in rows:
        if counts is None:
            print(f"{name:<36} {'(mutmut failed)':>46}")
            failed = True
            continue
        total = sum(counts.values())
        mark = "" if score >= TARGET_SCORE else "  < target"
        failed |= score < TARGET_SCORE
        print(f"{name:<36} {total:>7} {counts['killed']:>6} {counts['timeout']:>7} "
              f"{counts['survived']:>8} {counts['no tests']:>8} {score:>6.1%}{mark}")
    print(f"target: at least {TARGET_SCORE:.0%} of the mutants killed in every module")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
