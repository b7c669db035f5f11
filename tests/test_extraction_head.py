"""The page's header lines above an article are not its text.

The demo's Tajik outlet prints, inside the story container, a breadcrumb
trail ending in the headline, the headline, the date, the byline and a view
counter; each stood first in the extracted body and opened every snippet.
The cases below were written before the rule was measured: the Tajik pages'
bodies open with their lead, and lines that only look like metadata (a story
sentence with a date, a "By noon" sentence, a wire dateline with text) stay.
"""

from __future__ import annotations

import pytest

from crawler.extraction import extract_article
from crawler.extraction.head import drop_head, is_byline, is_counter, is_crumb_title, is_dateline
from wirewatch.demo_site.manifest import Story, load_manifest

MANIFEST = load_manifest()
TAJIK_STORIES = MANIFEST.outlet("akhbori-tojikiston").stories


@pytest.mark.parametrize("story", TAJIK_STORIES, ids=[s.key for s in TAJIK_STORIES])
def test_tajik_bodies_open_with_the_story(story: Story) -> None:
    html = MANIFEST.file_of(story).read_bytes().replace(b"{{BASE}}", b"http://demo.example")
    result = extract_article(html, url=story.url("http://demo.example"))
    assert result.ok and result.article is not None, result.error
    first = result.article.body.split("\n\n")[0]
    assert not (
        is_crumb_title(first, [story.title])
        or is_dateline(first)
        or is_byline(first)
        or is_counter(first)
        or first.strip() == story.title.strip()
    ), f"header line kept first: {first!r}"
    lead = html.decode("utf-8").split('<meta name="description" content="', 1)[1].split('"', 1)[0]
    assert lead in result.article.body.split("\n\n"), "lead paragraph lost"


@pytest.mark.parametrize(
    "line",
    [
        "5 ноябри 2026, 16:40",
        "12 ноября 2026 г., 10:30 мск",
        "Updated Nov 3, 2026 at 14:05 GMT",
        "Tuesday 3 November 2026",
        "03.11.2026 14:05",
    ],
)
def test_datelines(line: str) -> None:
    assert is_dateline(line)


@pytest.mark.parametrize(
    "line",
    [
        "5 машин сгорели",
        "On 3 November the ministry said it would open an office in Moscow.",
        "ДУШАНБЕ, 3 ноября — МВД Таджикистана откроет представительство в Москве.",
        "380 ҳазор нафар",
        "2026",
    ],
)
def test_story_lines_with_dates_are_not_datelines(line: str) -> None:
    assert not is_dateline(line)


def test_bylines_and_counters() -> None:
    assert is_byline("Муаллиф: Дилноза Ҳакимова")
    assert is_byline("Автор: Иван Петров")
    assert is_byline("By Jane Doe and John Roe")
    assert not is_byline("By noon, police had closed the road.")
    assert not is_byline("By the end of the year the office will open")
    assert is_counter("Дида шуд: 853")
    assert is_counter("Просмотров: 1 204")
    assert not is_counter("Дида шуд, ки 853 нафар рафтанд")


def test_only_the_header_run_goes() -> None:
    title = "Дар Душанбе намояндагии ВКД Русия ба кор шурӯъ кард"
    body = [
        f"» Сиёсат » {title}",
        title,
        "12 ноябри 2026, 17:20",
        "Муаллиф: Муҳаммадҷон Шарифов",
        "Дида шуд: 901",
        "Намояндагӣ ба кор шурӯъ кард.",
        "12 ноябри 2026, 17:20",
    ]
    assert drop_head(body, [title]) == ["Намояндагӣ ба кор шурӯъ кард.", "12 ноябри 2026, 17:20"]


def test_a_crumb_trail_without_the_headline_is_not_dropped_as_one() -> None:
    assert not is_crumb_title("Policy » Migration", ["Russia opens a police office"])
