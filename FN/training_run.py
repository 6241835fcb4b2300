"""Day4-5: the end of a training run is ``Trainer.finish`` in ``FN/fn_framework.py``.

``finish_training(trainer, agent, file_name, show)`` stays importable from here for the
notebooks that call it; it is ``trainer.finish(agent, file_name, show)``.
"""


def finish_training(trainer, agent, file_name, show=True):
    """``trainer.finish(agent, file_name, show)``: save, plot and mark the run."""
    return trainer.finish(agent, file_name, show=show)
