"""演習の模範解答 (model answers)。まず自分で解いてから読んでください。

検査: ``python -m exercises.check --all --solutions``
"""
