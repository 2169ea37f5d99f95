"""Markup is read as the text it marks up: reStructuredText, Markdown and HTML files."""

from __future__ import annotations

import pytest

from assistant.answer.units import split_units
from ingest.loaders import Limits, load_file
from ingest.markup import is_restructured, plain_markdown, plain_rst
from tests.conftest import REALDOCS

RST = """\
.. container:: note
   :name: translated

   **This text was translated by a machine.**

Digital Plan for the Regions
============================

Hosting
-------

Each region moves its services to the *shared cloud* through the
`*Hosting Framework Agreement* <https://example.org/hosting>`__\\ [12]_ run by the
``central purchasing body``, see :ref:`annex-2` and `Annex 3`_.

+--------+----------+
| Lot    | Regions  |
+========+==========+
| Lot 1  | North    |
+--------+----------+

.. _Annex 3: https://example.org/annex-3
.. |logo| image:: logo.png
.. [12] The agreement runs until **May 2028**.
"""


def test_restructured_text_keeps_its_words_and_titles_not_its_marks(tmp_path):
    path = tmp_path / "plan.txt"  # published as .txt, written in reStructuredText
    path.write_text(RST, encoding="utf-8")
    loaded = load_file(path, Limits())
    text = "\n".join(loaded.pages)
    assert loaded.title == "Digital Plan for the Regions"
    assert "# Digital Plan for the Regions\n" in text and "\n## Hosting\n" in text
    assert "This text was translated by a machine." in text  # a directive's content stays
    assert (
        "Each region moves its services to the shared cloud through the\n"
        "Hosting Framework Agreement run by the\n"
        "central purchasing body, see annex-2 and Annex 3." in text
    )
    assert "[12] The agreement runs until May 2028." in text  # the footnote itself stays
    assert "| Lot 1 | North |" in text  # a grid table's rows, without its borders
    for mark in ("*", "`", "<https", "]_", ".. ", "container", ":name:", "+---", "logo"):
        assert mark not in text, mark


def test_plain_text_that_is_not_restructured_keeps_its_stars_and_underscores(tmp_path):
    text = "Costs rose 4 * 3 times in file_name_2019 *\n\n* only a footnote mark\n"
    assert not is_restructured(text)
    path = tmp_path / "notes.txt"
    path.write_text(text, encoding="utf-8")
    assert "\n".join(load_file(path, Limits()).pages) == text.strip()


def test_markdown_marks_are_dropped_and_its_structure_kept(tmp_path):
    path = tmp_path / "review.md"
    path.write_text(
        "# Review of the plan\n\n"
        "The **budget** is *not* costed; see [the annex](https://example.org/a) and "
        "![the cost chart](chart.png) in `annex_b.xlsx`.\n\n"
        "* the first risk, on __staffing__\n"
        "* the second, on snake_case_names and 2 * 3 lots\n\n"
        "| Risk | Owner |\n|---|---|\n| Staff | HR |\n\n"
        "<!-- a note to the editor -->\n"
        "<!-- pagebreak -->\n"
        "Page two.\n"
        "[unused]: https://example.org/u\n",
        encoding="utf-8",
    )
    pages = load_file(path, Limits()).pages
    assert len(pages) == 2 and pages[1].startswith("Page two.")
    text = "\n".join(pages)
    assert "The budget is not costed; see the annex and the cost chart in annex_b.xlsx." in text
    assert "* the first risk, on staffing" in text
    assert "* the second, on snake_case_names and 2 * 3 lots" in text
    assert "| Staff | HR |" in text
    assert "editor" not in text and "example.org" not in text


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            "the ***Data & Analytics\n   Framework* (DAF)** of the PA",
            "the Data & Analytics\n   Framework (DAF) of the PA",
        ),
        (
            "a `link <https://x.org>`_ to the register\\ [29]_ and a \\*",
            "a link to the register and a *",
        ),
        ("`https://bare.example.org/`__ only", "https://bare.example.org/ only"),
    ],
)
def test_restructured_inline_marks(source, expected):
    assert plain_rst(source) == expected


def test_markdown_keeps_what_only_looks_like_marks():
    assert plain_markdown("a_b_c and *  spaced * stars") == "a_b_c and *  spaced * stars"


def test_the_real_plan_written_in_restructured_text_reads_without_its_marks():
    path = REALDOCS / "italy-three-year-ict-plan-2017-2019.txt"
    if not path.exists():
        pytest.skip(f"{path} is not here")
    text = "\n".join(load_file(path, Limits()).pages)
    assert "`" not in text and "]_" not in text and "<http" not in text
    assert text.count("*") <= 12  # a few stars the translation left unpaired stay
    assert "The National resident population register (ANPR)" in text.replace("\n", " ")


def test_a_grid_table_cell_written_over_several_lines_is_one_row_beside_its_label():
    table = (
        "+-------------+------------------------------------+\n"
        "| Subject     | Completion of the registry         |\n"
        "+-------------+------------------------------------+\n"
        "| Description | Municipalities move their records. |\n"
        "|             |                                    |\n"
        "|             | The ministry checks each *batch*.  |\n"
        "+-------------+------------------------------------+\n"
    )
    assert plain_rst(table).split("\n") == [
        "| Subject | Completion of the registry |",
        "| Description | Municipalities move their records. The ministry checks each batch. |",
        "",
    ]


def test_an_html_table_is_read_row_by_row_with_its_cells_apart(tmp_path):
    path = tmp_path / "lots.html"
    path.write_text(
        "<html><head><title>Hosting lots</title></head><body><h1>Hosting lots</h1>"
        "<p>The lots of the <b>hosting</b> agreement:</p><table><thead><tr><th>Lot</th>"
        "<th>Regions</th></tr></thead><tbody><tr><td>Lot 1</td><td>North and <i>Islands</i></td>"
        "</tr><tr><td>Lot 2</td><td>South</td></tr></tbody></table>"
        "<dl><dt>Lot</dt><dd>a share of the agreement</dd></dl></body></html>",
        encoding="utf-8",
    )
    text = load_file(path, Limits()).pages[0]
    assert (
        "The lots of the hosting agreement:\n\n"
        "| Lot | Regions |\n| Lot 1 | North and Islands |\n| Lot 2 | South |" in text
    )
    assert "Lot\na share of the agreement" in text  # had run together: "Lota share of..."
    units = [u.raw for u in split_units(1, text)]  # each row quoted whole, and only itself
    assert units[-4:] == [
        "| Lot 1 | North and Islands |",
        "| Lot 2 | South |",
        "Lot",
        "a share of the agreement",
    ]


def test_a_web_page_is_read_without_the_site_around_it(tmp_path):
    page = (
        "<html><head><title>Hosting notice | Portal</title></head><body>"
        "<a href='#content'>Skip to main content</a>"
        "<header><nav><ul><li>Home</li><li>A to Z</li></ul></nav></header>"
        "<div role='navigation'>Browse by topic</div>"
        "<article><header><h1>Hosting notice</h1><p>Issued 3 May 2024</p></header>"
        "<p>Every region moves to the shared cloud by 2026.</p>"
        "<footer>Signed: the digital office</footer></article>"
        "<footer>Contact us | Privacy</footer></body></html>"
    )
    path = tmp_path / "notice.html"
    path.write_text(page, encoding="utf-8")
    text = load_file(path, Limits()).pages[0]
    assert text == (
        "# Hosting notice\n\nIssued 3 May 2024\n\n"
        "Every region moves to the shared cloud by 2026.\nSigned: the digital office"
    )
    main = page.replace("<article>", "<main><article>").replace("</article>", "</article></main>")
    path.write_text(main, encoding="utf-8")
    assert load_file(path, Limits()).pages[0] == text  # a page that marks its main content
    own = main.replace("<article>", "").replace("</article>", "")  # the main's own header stays
    path.write_text(own, encoding="utf-8")
    assert load_file(path, Limits()).pages[0] == text
