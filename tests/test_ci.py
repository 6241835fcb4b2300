"""What CI enforces: a skipped test fails the run, a hung test times out, and ``.ci/run``
runs the README's test command in a virtual environment built from scratch.

The skip rule lives in tests/conftest.py. Its tests run pytest (in this process) on a tiny
test file in a temporary folder, with a copy of our conftest and with ``CI`` set as a CI
service would set it.
"""

import importlib.metadata
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]
CONFTEST = (ROOT / "tests" / "conftest.py").read_text(encoding="utf-8")

SKIPPING_TESTS = """
import pytest

@pytest.mark.skip(reason="marked away")
def test_marked():
    pass

@pytest.mark.skipif(True, reason="Chromium is missing")
def test_skipif():
    pass

def test_skips_inside():
    pytest.skip("decided at run time")

def test_passes():
    assert True

@pytest.mark.xfail(reason="a known bug", strict=True)
def test_expected_failure():
    assert False
"""

SKIPPED_MODULE = """
import pytest

pytest.importorskip("a_package_that_is_not_installed", reason="the extra lost it")

def test_never_runs():
    pass
"""


@pytest.fixture
def run(pytester, monkeypatch):
    """Run pytest on ``source`` with ``CI`` set to ``ci`` (or unset)."""
    pytester.makeconftest(CONFTEST)
    # The copied conftest sets these at import; monkeypatch puts this session's values back.
    for name in ("MPLBACKEND", "SDL_VIDEODRIVER", "SDL_AUDIODRIVER", "RL_BOOK_OUTPUT_DIR"):
        monkeypatch.setenv(name, os.environ.get(name, ""))

    def run(source, ci):
        if ci is None:
            monkeypatch.delenv("CI", raising=False)
        else:
            monkeypatch.setenv("CI", ci)
        pytester.makepyfile(test_tiny=source)
        return pytester.runpytest("-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-rA")

    return run


@pytest.mark.parametrize("ci", [None, "", "0", "false"])
def test_without_ci_a_skip_is_only_reported(run, ci):
    result = run(SKIPPING_TESTS, ci)
    result.assert_outcomes(passed=1, skipped=3, xfailed=1)
    assert result.ret == pytest.ExitCode.OK


@pytest.mark.parametrize("ci", ["true", "1"])
def test_with_ci_every_skip_fails_the_run_and_names_the_test(run, ci):
    result = run(SKIPPING_TESTS, ci)
    # A skip before the test body (a mark) fails at setup, which pytest counts as an error;
    # one inside the body fails the test. The passing test and the xfail are not touched.
    result.assert_outcomes(passed=1, failed=1, errors=2, xfailed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    output = result.stdout.str()
    for name, reason in [("test_marked", "marked away"), ("test_skipif", "Chromium is missing"),
                         ("test_skips_inside", "decided at run time")]:
        assert f"test_tiny.py::{name} was skipped ({reason}); CI is set" in output


def test_with_ci_a_skipped_module_fails_the_run(run):
    result = run(SKIPPED_MODULE, "true")
    assert result.ret != pytest.ExitCode.OK
    result.assert_outcomes(errors=1)
    assert "test_tiny.py was skipped (the extra lost it); CI is set" in result.stdout.str()


def test_without_ci_a_skipped_module_is_only_reported(run):
    result = run(SKIPPED_MODULE, None)
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    result.assert_outcomes(skipped=1)


def test_a_per_test_timeout_is_configured(pytestconfig):
    # pytest-timeout reads it from [tool.pytest.ini_options]; without it a hung test holds CI.
    assert 60 <= float(pytestconfig.getini("timeout")) <= 900


def test_ci_runs_the_readme_test_command_word_for_word_and_then_the_rest():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = next(line for line in readme.splitlines()
                   if line.startswith("pip install") and "python -m pytest" in line)
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    lines = [line.strip() for line in script.splitlines()]
    assert f"({command})" in lines
    # The README's command installs the locked versions and runs the quick tier; the rest
    # of the suite runs after it, so that CI runs everything.
    assert "-c constraints.txt" in command and command.endswith('python -m pytest -m "not slow"')
    assert "python -m pytest -m slow" in lines
    assert "python3 -m venv --clear .venv-ci" in lines
    assert "export CI=1" in lines
    assert "ruff check ." in lines
    assert "set -euo pipefail" in lines
    assert "chromium" in script and "fonts-noto-cjk" in script


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_tests_pass_when_the_suite_starts_with_sigint_ignored():
    # As from `nohup bash .ci/run &`: pytest itself starts with SIGINT ignored. The Ctrl-C
    # test it runs must still see its server stop on SIGINT (tests/conftest.py sees to it).
    ctrl_c_test = ("tests/DP/test_application.py::"
                   "test_run_server_starts_from_another_folder_and_stops_on_ctrl_c[None]")

    def ignore_sigint():
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", ctrl_c_test],
        cwd=ROOT, preexec_fn=ignore_sigint, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_the_lock_pins_every_dependency_for_every_python():
    # constraints.txt must be re-made (README, 開発) when pyproject.toml gains a dependency.
    # The installed project's metadata lists pyproject's dependencies, extras with a marker.
    wanted = [requirement for requirement in importlib.metadata.requires("baby-steps-of-rl-ja")
              if "extra ==" not in requirement
              or any(f'extra == "{extra}"' in requirement
                     for extra in ("dev", "notebooks", "distributed"))]
    lock = (ROOT / "constraints.txt").read_text(encoding="utf-8")
    pinned = {re.split(r"[=\s;]", line)[0].lower()
              for line in lock.splitlines() if "==" in line and not line.startswith("#")}
    assert len(wanted) > 20
    for requirement in wanted:
        name = re.split(r"[\[<>=!~ ;]", requirement)[0].lower()
        assert name in pinned, f"{name} is not pinned in constraints.txt"
    assert "uv pip compile pyproject.toml --universal --python-version 3.10" in lock
