"""Run the notebooks of every day and save them with their outputs, as they are committed.

Each day's folder may hold notebooks in ``<DAY>/notebooks/*.ipynb``. They are committed with
their outputs, so that they read on the web without running. After editing one, run

    python doc/run_notebooks.py                              # every notebook
    python doc/run_notebooks.py EL/notebooks/q_learning.ipynb  # just this one

It runs each notebook from the repository root in a fresh kernel of this Python, with
figures drawn inline and files written under ``outputs/`` (a relative path, so that no
machine's folders end up in the committed outputs), writes it back with its outputs and
prints how long it took. The timing that Jupyter records for every cell, and the Python
version, are left out, so that running a notebook again changes only what its cells printed
and drew.

``tests/test_notebooks.py`` runs every notebook with the same ``execute_notebook`` (into a
temporary folder instead), and checks the committed files with ``leaked_paths``.
A new notebook is picked up by both without any change here.
"""

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

from common import atomic_path, exit_with_error, positive_int

ROOT = Path(__file__).resolve().parent.parent
PATTERN = "*/notebooks/*.ipynb"
TIMEOUT = 180  # seconds; each notebook must run in at most 3 minutes on a 2-core CPU
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
# Generic shapes of absolute paths on Linux, macOS and Windows, besides this machine's own.
MACHINE_PATH = re.compile(r"(?<![\w.])(/home/|/Users/|/tmp/|/root/|/private/var/|"
                          r"[A-Za-z]:\\Users\\)")


def find_notebooks(root=ROOT):
    """Every day's notebook, ``<DAY>/notebooks/*.ipynb``, in a stable order."""
    return sorted(Path(root).glob(PATTERN))


def kernel_manager():
    """A kernel manager that starts ipykernel with this very Python (``sys.executable``).

    Jupyter looks kernels up by name, and a "python3" kernel installed elsewhere on the
    machine (in the user's folder, say) would win over this environment's. With no kernel
    folders to search, jupyter_client falls back to the kernel that ipykernel itself
    describes, which runs the interpreter we are running in.
    """
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager

    return AsyncKernelManager(kernel_name="python3",
                              kernel_spec_manager=KernelSpecManager(kernel_dirs=[]))


def kernel_environment(output_root):
    """The kernel's environment: ours, with inline figures and outputs under ``output_root``.

    ``MPLBACKEND`` is set to the inline backend explicitly, because the test suite sets Agg
    (which would draw nothing into the notebook). ``TF_CPP_MIN_LOG_LEVEL`` is removed, so that
    ``common`` silences TensorFlow's start-up lines exactly as it does for a reader.
    """
    env = dict(os.environ, MPLBACKEND=INLINE_BACKEND, RL_BOOK_OUTPUT_DIR=str(output_root),
               SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy")
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    return env


def execute_notebook(path, output_root, timeout=TIMEOUT):
    """Run the notebook at ``path`` from the repository root; return it with its outputs.

    A cell that raises stops the run with ``nbclient.exceptions.CellExecutionError``, which
    names the cell and shows its traceback. ``timeout`` bounds each cell, in seconds.
    """
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, km=kernel_manager(), timeout=timeout,
                            record_timing=False, resources={"metadata": {"path": str(ROOT)}})
    client.execute(env=kernel_environment(output_root))
    return strip_machine_details(notebook)


def strip_machine_details(notebook):
    """Drop what changes from run to run and machine to machine but says nothing to a reader.

    That is the per-cell timing that Jupyter and its extensions record, the Python version,
    and where the kernel happened to cut a cell's printed lines into pieces (it sends what
    has been printed every fraction of a second, so a slower machine cuts elsewhere): the
    pieces of one stream are joined into one output, which Jupyter shows the same way.
    """
    for cell in notebook.cells:
        for key in ("execution", "ExecuteTime"):
            cell.metadata.pop(key, None)
        joined = []
        for output in cell.get("outputs", []):
            previous = joined[-1] if joined else None
            if (output.output_type == "stream" and previous is not None
                    and previous.output_type == "stream" and previous.name == output.name):
                previous.text += output.text
            else:
                joined.append(output)
        if cell.cell_type == "code":
            cell.outputs = joined
    notebook.metadata.get("language_info", {}).pop("version", None)
    return notebook


def text_outputs(notebook):
    """Every piece of text in the outputs (not the images): printed, shown, or a traceback."""
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if "text" in output:
                yield output["text"]
            for kind, value in output.get("data", {}).items():
                if kind.startswith("text/"):
                    yield value if isinstance(value, str) else "".join(value)
            yield from output.get("traceback", [])


def leaked_paths(notebook):
    """The absolute paths of some machine found in the outputs (none is the goal).

    A committed notebook is read by people on other machines: a path such as
    ``/home/someone/...`` says nothing to them, and changes with every machine it runs on.
    """
    own = {folder for folder in (str(ROOT), str(Path.home()), tempfile.gettempdir(), sys.prefix)
           if folder.strip("/\\")}  # a home folder of "/" would match every path
    found = []
    for text in text_outputs(notebook):
        found += [folder for folder in own if folder in text]
        found += MACHINE_PATH.findall(text)
    return sorted(set(found))


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Run every day's notebooks and save them with their outputs."
    )
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="notebooks to run (default: every <DAY>/notebooks/*.ipynb)")
    parser.add_argument("--timeout", type=positive_int, default=TIMEOUT,
                        help=f"seconds each cell may take (default {TIMEOUT})")
    args = parser.parse_args(argv)
    import nbformat

    paths = [path.resolve() for path in args.notebooks] or find_notebooks()
    for path in paths:
        if path.suffix != ".ipynb" or not path.is_file():
            exit_with_error(f"{path} is not a notebook file (.ipynb)")
    for path in paths:
        start = time.perf_counter()
        # Relative to the repository root, where the kernel runs: outputs/ (git-ignored).
        notebook = execute_notebook(path, Path("outputs"), args.timeout)
        seconds = time.perf_counter() - start
        leaks = leaked_paths(notebook)
        if leaks:
            exit_with_error(f"{path.relative_to(ROOT)} prints machine paths ({', '.join(leaks)}); "
                            "print paths relative to the repository root instead")
        with atomic_path(path) as temporary:
            nbformat.write(notebook, temporary)
        print(f"{path.relative_to(ROOT)}: {seconds:.1f} s")


if __name__ == "__main__":
    main()
