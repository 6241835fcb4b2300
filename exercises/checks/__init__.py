"""The checks of the exercises: one module a day, each with a list ``EXERCISES``.

A check calls the learner's function on fixed inputs (and a few drawn from ``rng``), compares
the answer with a reference computed here or by the project's own module, and raises
``Wrong`` with a Japanese sentence that says what differs. Where the answer equals what a
typical mistake gives (a forgotten terminal mask, a sign error, ...), it names the mistake.
"""

import copy
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


class Wrong(Exception):
    """The learner's answer is not right; the message says how, in Japanese."""


@dataclass(frozen=True)
class Exercise:
    day: int
    number: int
    name: str  # the function the learner writes in exercises/dayN.py
    title: str  # what it computes, in Japanese
    look: str  # where to read: the book's section and the project's file that shows it
    check: Callable  # check(fn, rng) returns, or raises Wrong

    @property
    def label(self):
        return f"{self.day}-{self.number}"


def show(value):
    """A short, readable form of a number, an array or a dict for a message."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {show(v)}" for k, v in value.items()) + "}"
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return repr(value)
    if array.ndim == 0:
        return f"{float(array):.4g}"
    return np.array2string(array, precision=4, suppress_small=True, max_line_width=90)


def as_array(value, what):
    """``value`` as a float array, or ``Wrong`` when it is not numbers."""
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise Wrong(f"{what} の答えが数値になっていません (返り値: {value!r})。") from None
    return array


def same(got, want, atol=1e-6):
    """True when ``got`` has ``want``'s shape and values (within ``atol``)."""
    try:
        got = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        return False
    want = np.asarray(want, dtype=float)
    return got.shape == want.shape and bool(np.allclose(got, want, atol=atol, rtol=1e-6))


def compare(got, want, what, mistakes=(), atol=1e-6):
    """Raise ``Wrong`` unless ``got`` equals ``want``.

    ``mistakes`` lists ``(value, message)``: what a typical mistake would return, and the
    sentence that names it. An answer equal to one of them gets that sentence.
    """
    for value, message in mistakes:
        if not same(value, want, atol) and same(got, value, atol):
            raise Wrong(f"{what}: {message}")
    array = as_array(got, what)
    expected = np.asarray(want, dtype=float)
    if array.shape != expected.shape:
        raise Wrong(f"{what}: 形 (shape) が違います。正しくは {expected.shape}、"
                    f"あなたの答えは {array.shape} です。")
    if not np.allclose(array, expected, atol=atol, rtol=1e-6):
        raise Wrong(f"{what}: 正しくは {show(expected)}、あなたの答えは {show(array)} です。")


def call(fn, *args, **kwargs):
    """Call the learner's ``fn`` on copies, so that an answer that changes its inputs in place
    cannot change the inputs the check uses for its reference."""
    return fn(*copy.deepcopy(args), **copy.deepcopy(kwargs))
