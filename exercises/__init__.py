"""演習 (exercises): Day1 から Day6 まで、各日の要になる計算を自分の手で書いて確かめます。

``exercises/day1.py`` … ``exercises/day6.py`` の関数は、どれも ``NotImplementedError`` を
投げるだけの空欄です。docstring の課題・式・ヒントを読んで中身を書き、検査します:

    python -m exercises.check day2      # Day2 の演習だけ
    python -m exercises.check --all     # すべて

✓ は正解、✗ は何が違うかと、本書とこのリポジトリのどこを読めばよいかを示します。
模範解答は ``exercises/solutions/`` にあります (先に自分で解いてから見てください)。
一覧と使い方: doc/exercises.md
"""
