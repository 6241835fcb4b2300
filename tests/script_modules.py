"""Load a script that is not in a package (``doc/``, ``benchmarks/``) as a module, by its path."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def load_script(relative_path):
    """The module of the script at ``relative_path`` from the repository root, freshly run."""
    path = ROOT / relative_path
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
