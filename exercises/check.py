"""演習の検査 (check the exercises): 書いた関数が正しいかを確かめ、日本語で結果を示します。

    python -m exercises.check day1           # Day1 の演習を検査
    python -m exercises.check day3 day4      # 複数の日
    python -m exercises.check --all          # Day1 から Day6 まで
    python -m exercises.check day2 --solutions   # 模範解答を検査 (検査そのものの確認)

✓ は正解、✗ は違うところと読むべき場所、… はまだ書いていない演習です。すべて正解なら終了
ステータス 0、1 つでも違えば 1 です。
"""

import argparse
import importlib
import sys
from dataclasses import dataclass

from common import seed_value

import numpy as np

from exercises.checks import Wrong

DAYS = [f"day{n}" for n in range(1, 7)]


def exercises_of(day):
    """The ``Exercise`` list of ``day``; its checks are imported only when asked for (Day1's
    pull in pandas and matplotlib, Day3's gymnasium)."""
    return importlib.import_module(f"exercises.checks.{day}").EXERCISES


@dataclass(frozen=True)
class Result:
    exercise: object
    status: str  # "ok", "wrong", "todo" (not written yet), "error" (it raised), "missing"
    message: str = ""

    @property
    def passed(self):
        return self.status == "ok"


def learner_module(day, solutions=False):
    """The module with the functions to check: the learner's ``exercises/dayN.py``, or the
    model answers in ``exercises/solutions/dayN.py``."""
    package = "exercises.solutions" if solutions else "exercises"
    return importlib.import_module(f"{package}.{day}")


def run_exercise(exercise, module, seed=0):
    """Check one exercise against the function of the same name in ``module``."""
    fn = getattr(module, exercise.name, None)
    if not callable(fn):
        return Result(exercise, "missing",
                      f"関数 {exercise.name} が見つかりません。名前を変えていませんか。")
    try:
        exercise.check(fn, np.random.default_rng(seed))
    except NotImplementedError:
        return Result(exercise, "todo", "まだ書かれていません (NotImplementedError)。")
    except Wrong as wrong:
        return Result(exercise, "wrong", str(wrong))
    except Exception as error:  # the learner's code failed: say how, without a traceback
        return Result(exercise, "error",
                      f"実行中にエラーになりました: {type(error).__name__}: {error}")
    return Result(exercise, "ok")


def run_day(day, module=None, seed=0):
    """Check every exercise of ``day`` ("day1" … "day6"); a list of ``Result``."""
    if module is None:
        module = learner_module(day)
    return [run_exercise(exercise, module, seed) for exercise in exercises_of(day)]


MARKS = {"ok": "✓", "wrong": "✗", "error": "✗", "missing": "✗", "todo": "…"}


def report(results, day, solutions=False):
    """Print each result in Japanese; where it is wrong, also what to read."""
    where = "exercises/solutions" if solutions else "exercises"
    print(f"== Day{day.removeprefix('day')} の演習 ({where}/{day}.py) ==")
    for result in results:
        exercise = result.exercise
        line = f"{MARKS[result.status]} 演習 {exercise.label} {exercise.name}: {exercise.title}"
        if result.passed:
            print(f"{line} — 正解です")
            continue
        print(line)
        print(f"    {result.message}")
        if result.status != "todo":
            print(f"    読むところ: {exercise.look}")
    passed = sum(result.passed for result in results)
    print(f"  {passed} / {len(results)} 問 正解\n")


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="演習の関数を検査し、正解か、どこが違うかを日本語で示します "
                    "(check the exercises)."
    )
    parser.add_argument("days", nargs="*", metavar="dayN",
                        help="検査する日: day1 … day6 (複数可) / the days to check")
    parser.add_argument("--all", action="store_true",
                        help="Day1 から Day6 まですべて検査する / check every day")
    parser.add_argument("--solutions", action="store_true",
                        help="自分の答えの代わりに模範解答を検査する / check the model answers")
    parser.add_argument("--seed", type=seed_value, default=0,
                        help="検査で乱数から作る入力のシード (default 0) / seed of drawn inputs")
    args = parser.parse_args(argv)
    unknown = [day for day in args.days if day not in DAYS]
    if unknown:
        parser.error(f"{unknown[0]!r} という日はありません。day1 … day6 から選んでください")
    days = DAYS if args.all else list(dict.fromkeys(args.days))
    if not days:
        parser.error("検査する日 (day1 … day6) か --all を指定してください")

    all_passed = True
    for day in days:
        results = run_day(day, learner_module(day, args.solutions), args.seed)
        report(results, day, args.solutions)
        all_passed = all_passed and all(result.passed for result in results)
    if all_passed:
        print("すべて正解です。おつかれさまでした。")
    return 0 if all_passed else 1


if __name__ == "__main__":
    sys.exit(main())
