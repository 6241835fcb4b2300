"""Day2: the maze of the simulator as data: the checks of a grid and of its rewards on arrival,
and the JSON file the simulator saves. Day2's planners and web pages, Day3's learning page and
Day6's inverse RL all read mazes through these (``DP/vectorized_planner.py`` passes them on),
so every one refuses a bad maze alike.
"""

import json
from pathlib import Path

from common import exit_with_error

import numpy as np

from DP.environment import BLOCK, DANGER, ORDINARY, TREASURE

CELL_VALUES = (ORDINARY, TREASURE, DANGER, BLOCK)
# A reward on arrival is a number from -REWARD_LIMIT to REWARD_LIMIT.
REWARD_LIMIT = 10

def validate_grid(grid, move_prob=0.8):
    """Check a maze and return it as an integer NumPy array; raise ``ValueError`` if invalid.

    Invalid: anything but a list of rows of cells, an empty or non-rectangular grid, a cell
    value outside {0, 1, -1, 9}, a blocked start cell (the lower-left one, where the agent
    starts), or a ``move_prob`` that is not a number in [0, 1].
    """
    # bool is an int in Python, but ``"prob": true`` in a maze file is a mistake, not 1.0.
    if (isinstance(move_prob, bool) or not isinstance(move_prob, (int, float))
            or not 0.0 <= move_prob <= 1.0):
        raise ValueError(f"move_prob must be a number in [0, 1], got {move_prob!r}")
    if isinstance(grid, np.ndarray):
        grid = grid.tolist()
    if not isinstance(grid, (list, tuple)) or not all(isinstance(row, (list, tuple))
                                                      for row in grid):
        raise ValueError("the grid must be a list of rows, each a list of cells")
    rows = [list(row) for row in grid]
    if not rows or not rows[0]:
        raise ValueError("the grid must have at least one row and one column")
    width = len(rows[0])
    for index, row in enumerate(rows):
        if len(row) != width:
            raise ValueError(
                f"the grid must be rectangular: row 0 has {width} cells, row {index} has {len(row)}"
            )
        for cell in row:
            if isinstance(cell, bool) or cell not in CELL_VALUES:
                raise ValueError(
                    f"unknown cell value {cell!r}: use 0 (ordinary), 1 (treasure), "
                    "-1 (danger) or 9 (block)"
                )
    array = np.array(rows, dtype=int)
    if array[-1, 0] == BLOCK:
        raise ValueError("the start cell (lower left) must not be a block")
    return array


def validate_rewards(rewards, shape):
    """Check a grid of rewards on arrival for a maze of ``shape`` and return it as a float array.

    Raise ``ValueError`` unless it is a list of rows of the maze's shape whose every entry is a
    finite number from -REWARD_LIMIT to REWARD_LIMIT (true and false are not numbers here).
    """
    n_rows, n_columns = shape
    if not isinstance(rewards, (list, tuple)) or not all(isinstance(row, (list, tuple))
                                                         for row in rewards):
        raise ValueError("the rewards must be a list of rows, each a list of numbers")
    if len(rewards) != n_rows or any(len(row) != n_columns for row in rewards):
        raise ValueError(f"the rewards must have the grid's shape, {n_rows} rows of "
                         f"{n_columns} numbers")
    for row in rewards:
        for reward in row:
            # A comparison is False for NaN and refuses infinity and integers too large to be
            # floats, before float() could overflow.
            if (isinstance(reward, bool) or not isinstance(reward, (int, float))
                    or not -REWARD_LIMIT <= reward <= REWARD_LIMIT):
                raise ValueError(f"every reward must be a number from {-REWARD_LIMIT} to "
                                 f"{REWARD_LIMIT}, got {reward!r}")
    return np.array(rewards, dtype=float)


class MazeTooLarge(ValueError):
    """A maze with more rows or columns than the caller accepts (the web pages: 20 x 20)."""


def check_maze(grid, move_prob=0.8, rewards=None, max_side=None):
    """The one check of a maze as JSON carries it: the simulator's ``/plan``, its Day3 socket
    and the maze files (``load_maze``). Return ``(grid, rewards)`` as NumPy arrays (``rewards``
    None when not given); raise ``ValueError`` (``MazeTooLarge`` above ``max_side``).

    Besides ``validate_grid`` and ``validate_rewards``: a cell must be a JSON integer (``0.0``
    or ``true`` in a file is a mistake), and a grid wider or taller than ``max_side`` is
    refused before its cells are looked at.
    """
    rows = grid if isinstance(grid, list) and all(isinstance(row, list) for row in grid) else []
    if max_side is not None and (len(rows) > max_side or any(len(r) > max_side for r in rows)):
        raise MazeTooLarge(f"the grid is larger than {max_side} x {max_side} cells")
    for row in rows:
        for cell in row:
            if not isinstance(cell, int) or isinstance(cell, bool):
                raise ValueError(f"unknown cell value {json.dumps(cell)[:40]}: use 0 (ordinary), "
                                 "1 (treasure), -1 (danger) or 9 (block)")
    checked = validate_grid(grid, move_prob)
    if rewards is None:
        return checked, None
    return checked, validate_rewards(rewards, checked.shape)


MAZE_HINT = ("make a good one with the simulator: run `python DP/run_server.py`, draw the maze "
             "and press Save")


def load_maze(path):
    """Read and check a maze saved by the web simulator: ``{"grid": [[...]], "prob": 0.8, ...}``.

    Besides the grid, the file may hold "prob", "gamma" and "rewards" (the reward on arrival
    at each cell, a grid of numbers of the maze's shape); ``main`` plans with all three.

    A bare list of rows is accepted too. Whatever is wrong with the file (missing, not text,
    not JSON, nested too deeply for Python's parser, not a valid maze) ends in one sentence
    that names the file and says how to make a good one, with exit status 2.
    """
    path = Path(path)

    def refuse(problem):
        exit_with_error(f"{path} {problem}; {MAZE_HINT}")

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        refuse("does not exist")
    except IsADirectoryError:
        refuse("is a folder, not a maze file")
    except UnicodeDecodeError:
        refuse("is not a text file")
    except OSError as error:
        refuse(f"cannot be read ({error.strerror})")
    try:
        data = json.loads(text)
    except RecursionError:  # json.loads recurses once per level of [ or {
        refuse("is nested too deeply to be a maze")
    except json.JSONDecodeError as error:
        refuse(f"is not valid JSON ({error.msg} at line {error.lineno})")
    if isinstance(data, list):
        data = {"grid": data}
    if not isinstance(data, dict) or "grid" not in data:
        refuse('holds no maze: it must be an object with a "grid" key, a list of rows')
    for key in ("prob", "gamma"):
        value = data.get(key, 0.0)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            refuse(f'has a "{key}" that is not a number from 0 to 1')
    try:
        grid, _ = check_maze(data["grid"], data.get("prob", 0.8))
    except ValueError as error:
        refuse(f"is not a valid maze ({error})")
    if "rewards" in data:
        try:
            validate_rewards(data["rewards"], grid.shape)
        except ValueError as error:
            refuse(f'has "rewards" that do not fit its maze ({error})')
    return data
