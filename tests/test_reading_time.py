"""Reading time: prose words only, 238 a minute, rounded up, under the title."""

from __future__ import annotations

import markdown
import pytest

from mlsd_docs.reading_time import WORDS_PER_MINUTE, count_words, reading_minutes

EXTENSIONS = ["pymdownx.superfences", "tables", "mlsd_docs.reading_time"]


def render(text: str) -> str:
    return markdown.markdown(text, extensions=EXTENSIONS)


def minutes_shown(html: str) -> int:
    line = html.split('data-search-exclude="">', 1)[1]
    return int(line.split()[1])


def test_the_line_sits_right_under_the_title():
    html = render("# Title\n\nSome prose.\n")
    assert html.startswith(
        '<h1>Title</h1>\n<p class="mlsd-reading-time" data-search-exclude="">'
        "About 1 minute to read</p>"
    )


def test_code_does_not_count_but_prose_in_tables_and_emphasis_does():
    prose = " ".join(["word"] * (WORDS_PER_MINUTE * 2))  # exactly two minutes
    code = "```python\n" + "x = 1\n" * 5000 + "```\n"
    html = render(f"# T\n\n{prose}\n\n{code}\n| a |\n|---|\n| *b* c |\n")
    # 1 title word + 2 x 238 prose words + 3 table words: just over two minutes.
    assert minutes_shown(html) == 3
    assert minutes_shown(render(f"# T\n\n{prose}\n")) == 3  # the title's word tips it
    assert minutes_shown(render("# T\n\n" + " ".join(["w"] * 236) + "\n")) == 1


@pytest.mark.parametrize(
    ("words", "minutes"), [(0, 1), (1, 1), (238, 1), (239, 2), (2380, 10)]
)
def test_minutes_round_up(words, minutes):
    assert reading_minutes(words) == minutes


@pytest.mark.parametrize(
    ("words", "error"), [(-1, ValueError), (1.5, TypeError), (True, TypeError)]
)
def test_bad_input_is_refused(words, error):
    with pytest.raises(error):
        reading_minutes(words)
    with pytest.raises(TypeError):
        count_words("<p>not an element</p>")


def test_a_page_without_a_title_gets_no_line():
    assert "mlsd-reading-time" not in render("Just prose.\n")
