"""Settings for the whole test suite: headless plotting and windows, outputs in a temp folder,
and no silent skips in CI."""

import os
import signal
import tempfile

import pytest

# These must be set before matplotlib, pygame or TensorFlow are imported anywhere.
os.environ["MPLBACKEND"] = "Agg"
os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ["SDL_AUDIODRIVER"] = "dummy"
os.environ["RL_BOOK_OUTPUT_DIR"] = tempfile.mkdtemp(prefix="rl-book-test-outputs-")

# Importing common sets TF_CPP_MIN_LOG_LEVEL=3 before any test imports TensorFlow, so neither
# this process nor the scripts the tests start print "failed call to cuInit" on a CPU machine.
import common  # noqa: E402, F401

# A shell without job control (a script's `cmd &`, nohup, some CI runners) starts its
# background children with SIGINT ignored, and an ignored signal stays ignored across exec:
# the scripts that the Ctrl-C tests start would never see their Ctrl-C. A handled signal goes
# back to its default action in a child, so handling it here gives every child process the
# default, whatever shell started the tests.
signal.signal(signal.SIGINT, signal.default_int_handler)


# In CI a skipped test is a failed test. Locally, a test may skip when something optional is
# missing (Chromium, Playwright, Dask) and say why. In CI that would let the run pass green
# while the browser or Dask tests never ran, for example after a package fell out of the
# [dev] extra. So when the CI environment variable is set, as CI services do, every skip,
# whether of a test or of a whole module (pytest.importorskip at import), fails the run
# with the skipped test's name and the reason it gave. Expected failures (xfail) are left alone.
def skips_fail():
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def fail_the_skip(report):
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
    reason = str(reason).removeprefix("Skipped: ")
    report.outcome = "failed"
    report.longrepr = (f"{report.nodeid} was skipped ({reason}); "
                       "CI is set, and in CI a skipped test fails the run")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.skipped and not hasattr(report, "wasxfail") and skips_fail():
        fail_the_skip(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector):
    report = yield
    if report.skipped and skips_fail():
        fail_the_skip(report)
    return report


@pytest.fixture
def margin(request):
    """``margin(quantity, value, above=..., below=...)``: check a learned result against its
    threshold, and record it for ``benchmarks/learning_margins.py`` (tests/learning_margins.py).
    """
    from tests.learning_margins import check_margin

    def check(quantity, value, *, above=None, below=None):
        check_margin(request.node, quantity, value, above=above, below=below)

    return check
