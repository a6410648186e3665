"""The console's word wrap: lines break only at spaces, a word longer than the width stays whole."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console
from rich.text import Text

from hft.cli._output import word_wrap

WORDS = st.lists(st.text(alphabet="abc/_.,-0123456789", min_size=1, max_size=30), max_size=25)


@given(WORDS, st.integers(min_value=8, max_value=80))
def test_words_survive_whole_and_lines_fit(words, width):
    lines = [x.plain for x in word_wrap(Text(" ".join(words)), width)]
    assert " ".join(" ".join(lines).split()) == " ".join(words)  # nothing lost, nothing split
    for line in lines:
        assert len(line) <= width or " " not in line.strip()  # too long only when one word is


def test_styles_and_blank_lines_are_kept():
    con = Console(width=20)
    text = con.render_str("[bold]max drawdown[/bold] 217.19 USD\n\nrun hash 0123456789abcdef0123456789abcdef")
    lines = word_wrap(text, 20)
    assert [x.plain for x in lines] == ["max drawdown 217.19", "USD", "", "run hash",
                                        "0123456789abcdef0123456789abcdef"]
    assert any(s.style == "bold" and (s.start, s.end) == (0, 12) for s in lines[0].spans)
