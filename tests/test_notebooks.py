"""Every day's notebooks run from top to bottom, and the committed copies read on the web.

The notebooks are found, not listed: a notebook dropped into ``<DAY>/notebooks/`` is tested
without a change here. The fast tests read the committed files; the slow ones run each
notebook in a fresh kernel of this Python (``doc/run_notebooks.py``), where a failing cell
fails the test with its traceback.
"""

import sys
from pathlib import Path

import nbformat
import pytest

from tests.script_modules import load_script

ROOT = Path(__file__).resolve().parent.parent
run_notebooks = load_script("doc/run_notebooks.py")

NOTEBOOKS = run_notebooks.find_notebooks()
IDS = [path.relative_to(ROOT).as_posix() for path in NOTEBOOKS]
# The book's repository had these five in EL/notebooks/; each day has at least one (Day4-5 in
# FN/, Day6 in MM/, IM/ and EV/).
BOOK_DAY3 = {"epsilon_greedy", "monte_carlo", "q_learning", "sarsa", "actor_critic"}
MISSING_GLYPH = "missing from font"  # matplotlib's warning when it draws an empty box


def figures(notebook):
    """How many images the notebook's outputs hold."""
    return sum("image/png" in output.get("data", {})
               for cell in notebook.cells for output in cell.get("outputs", []))


def code_cells(notebook):
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def test_every_day_so_far_has_its_notebooks():
    days = {path.parts[-3] for path in NOTEBOOKS}
    assert {"ML", "DP", "EL", "FN", "MM", "IM", "EV"} <= days
    assert BOOK_DAY3 <= {path.stem for path in NOTEBOOKS if path.parts[-3] == "EL"}


def test_the_kernel_is_this_python():
    """A "python3" kernel installed elsewhere on the machine must not run the notebooks."""
    spec = run_notebooks.kernel_manager().kernel_spec
    assert spec.argv[0] == sys.executable and "ipykernel_launcher" in spec.argv


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_committed_notebook_reads_on_the_web(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    cells = code_cells(notebook)
    # Committed after a run from top to bottom: every cell executed, once, in order.
    assert [cell.execution_count for cell in cells] == list(range(1, len(cells) + 1))
    assert figures(notebook) >= 1, "no figure was drawn inline"
    outputs = [output for cell in cells for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    assert run_notebooks.leaked_paths(notebook) == []
    assert not any(MISSING_GLYPH in text for text in run_notebooks.text_outputs(notebook))
    # No per-cell timing (it would change every line of the file on every run).
    assert not any({"execution", "ExecuteTime"} & set(cell.metadata) for cell in notebook.cells)


@pytest.mark.parametrize("text, leaks", [
    ("Saved outputs/EL/el_agent/reward_history.png", False),
    ("Saved /home/reader/rl-book/outputs/EL/q_value.png", True),
    ("Saved /tmp/rl-book-test-outputs-x/EL/q_value.png", True),
    (f"Saved {ROOT}/doc/day1.png", True),
    ("C:\\Users\\reader\\rl-book\\outputs", True),
])
def test_leaked_paths_finds_machine_paths(text, leaks):
    notebook = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print(path)")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
    notebook.cells = [cell]
    assert bool(run_notebooks.leaked_paths(notebook)) == leaks


@pytest.mark.slow
@pytest.mark.timeout(run_notebooks.TIMEOUT)  # the whole notebook, kernel start included
@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_runs_from_top_to_bottom(path, tmp_path):
    executed = run_notebooks.execute_notebook(path, tmp_path / "outputs")
    committed = nbformat.read(path, as_version=4)
    # The inline backend is on (the suite's Agg would draw nothing): every figure appears.
    assert figures(executed) == figures(committed) >= 1
    assert not any(MISSING_GLYPH in text for text in run_notebooks.text_outputs(executed))
