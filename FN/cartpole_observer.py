"""Day4: ``CartPoleObserver`` and ``make_cartpole`` are defined in ``FN/fn_framework.py``.

They stay importable from here for the notebooks that import them from this module.
"""

from FN.fn_framework import CartPoleObserver, make_cartpole

__all__ = ["CartPoleObserver", "make_cartpole"]
