"""Settings for the whole test suite: headless plotting and windows, outputs in a temp folder,
and no silent skips in CI."""

import os
import tempfile

import pytest

# These must be set before matplotlib, pygame or TensorFlow are imported anywhere.
os.environ["MPLBACKEND"] = "Agg"
os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ["SDL_AUDIODRIVER"] = "dummy"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["RL_BOOK_OUTPUT_DIR"] = tempfile.mkdtemp(prefix="rl-book-test-outputs-")


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
