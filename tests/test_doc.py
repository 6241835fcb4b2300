"""The README's study guide: figures drawn by ``doc/make_figures.py``, links that resolve."""

import re
from pathlib import Path

from tests.script_modules import load_script

ROOT = Path(__file__).resolve().parent.parent
make_figures = load_script("doc/make_figures.py")

README = (ROOT / "README.md").read_text(encoding="utf-8")
# Markdown links and images to files of the repository: ](path) with no scheme.
LINKS = [link for link in re.findall(r"\]\(([^)\s#]+)\)", README) if "://" not in link]


def test_readme_holds_the_day3_table_as_the_comparison_writes_it():
    assert make_figures.methods_table() in README


def test_every_figure_the_script_draws_is_committed_and_shown_in_the_readme():
    shown = {Path(link).name for link in LINKS if link.startswith("doc/") and link.endswith(".png")}
    assert set(make_figures.FIGURES) <= shown
    assert all((ROOT / "doc" / name).is_file() for name in make_figures.FIGURES)


def test_every_day_of_the_study_guide_so_far_has_a_figure():
    days = {name.split("_")[0] for name in make_figures.FIGURES}
    assert {"day1", "day2", "day3", "day4", "day5", "day6"} <= days


def test_every_notebook_is_linked_from_the_study_guide():
    notebooks = {path.relative_to(ROOT).as_posix() for path in ROOT.glob("*/notebooks/*.ipynb")}
    assert notebooks and notebooks <= set(LINKS)


def test_every_relative_link_in_the_readme_resolves():
    assert LINKS
    assert [link for link in LINKS if not (ROOT / link).exists()] == []


def test_the_script_draws_the_quick_figures_with_every_character_in_the_font(tmp_path, capsys):
    # Day3's figure trains seven learners for a minute; Day1's and Day2's take a second. A
    # character missing from the font is an error in the script, so this fails on one.
    make_figures.main(["day1", "day2", "--out", str(tmp_path)])
    drawn = sorted(path.name for path in tmp_path.glob("*.png"))
    assert drawn == ["day1_discounting.png", "day2_value_iteration.png"]
    assert make_figures.methods_table() in capsys.readouterr().out


def test_every_script_the_readme_runs_exists():
    # The README's commands name scripts by path (python EL/q_learning.py) and by module
    # (python -m EL.q_learning): after a file moves, a learner must not meet a dead command.
    paths = set(re.findall(r"python (?:-\S+ )*([\w/]+\.py)", README))
    modules = set(re.findall(r"python -m ((?:DP|EL|FN|ML|MM|EV|IM|envs|exercises)\.[\w.]+)",
                             README))
    assert paths and modules
    missing = [p for p in paths if not (ROOT / p).is_file()]
    missing += [m for m in modules if not (ROOT / (m.replace(".", "/") + ".py")).is_file()]
    assert missing == []
