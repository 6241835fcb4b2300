"""What every script's command line must do with a bad value, checked the same way everywhere.

A bad option ends with exit status 2 and one sentence (argparse's ``error:`` line), never a
traceback. The Day1, Day2 and Day3 script tests import these.
"""

import pytest

# Seeds NumPy refuses (below 0, above 2**32 - 1), and values that are not whole numbers.
BAD_SEEDS = ["-1", "nan", "1.5", str(2**32), "ten"]


def assert_refused(main, argv, capsys, mentions):
    """``main(argv)`` ends with exit status 2 and one error line, not a traceback."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    errors = [line for line in captured.err.splitlines() if "error: " in line]
    assert len(errors) == 1 and mentions in errors[0], captured.err
