"""The combination rules on their own: edge trimming by agreement and boilerplate lines."""

from __future__ import annotations

from crawler.extraction.body import Reference, agreement, choose_body, drop_title, trim_edges
from crawler.extraction.boilerplate import clean_paragraphs, is_credit, is_promo

STORY = [
    "The interior ministry opened a liaison office in Moscow on Tuesday to help migrants.",
    "Officials said the office would work with Russian police on cases involving citizens.",
    "Remittances from Russia make up a large share of the economy, the World Bank says.",
]
LINKS = {"migrants queue for permits", "dushanbe signs a police deal"}


def is_link(line: str) -> bool:
    return line.lower().strip(" -") in LINKS


def test_edges_the_reference_lacks_are_trimmed() -> None:
    main = ["Share this article", *STORY, "Sign up for our daily briefing"]
    assert trim_edges(main, Reference(STORY)) == STORY


def test_nothing_is_trimmed_when_the_reference_disagrees() -> None:
    main = ["Share this article", *STORY]
    unrelated = Reference(["A completely different text about football and the weather today."])
    assert agreement(main, unrelated) == 0.0
    assert trim_edges(main, unrelated) == main


def test_middle_paragraphs_missing_from_the_reference_are_kept() -> None:
    main = [STORY[0], "A quote the reference dropped, but inside the story.", *STORY[1:]]
    assert trim_edges(main, Reference(STORY)) == main


def test_description_confirms_a_lead_with_a_dateline() -> None:
    lead = "MOSCOW (Reuters) - " + STORY[0]
    ref = Reference(STORY[1:], summaries=[STORY[0]])
    assert trim_edges([lead, *STORY[1:]], ref)[0] == lead


def test_title_line_is_dropped() -> None:
    assert drop_title(["Office opens in Moscow", *STORY], ["Office opens in Moscow!"]) == STORY


def test_promo_credit_and_trailing_lines_are_removed() -> None:
    paragraphs = [
        STORY[0],
        "Related: Migrants queue for permits",
        "Фото: Дмитрий Азаров, Коммерсантъ",
        STORY[1],
        "Читайте также: В Душанбе открылся офис",
        STORY[2],
        "- Migrants queue for permits",
        "- Dushanbe signs a police deal",
        "Follow us on Telegram for more news.",
        "© 2024 Example Media. All rights reserved.",
    ]
    assert clean_paragraphs(paragraphs, is_link) == STORY


def test_comment_section_is_cut_from_its_header() -> None:
    paragraphs = [*STORY, STORY[0] + " More.", "3 comments", "Great article!", "I disagree."]
    assert clean_paragraphs(paragraphs, is_link) == [*STORY, STORY[0] + " More."]


def test_story_sentences_that_mention_boilerplate_words_stay() -> None:
    paragraphs = [
        "Subscribers to the ministry's newsletter learned of the office first, officials said.",
        *STORY,
        "Police said they would follow up on the complaints next week.",
    ]
    assert clean_paragraphs(paragraphs, is_link) == paragraphs
    assert not is_promo("More than 100 migrants queued outside the office.")
    assert not is_credit("Photographers gathered outside the ministry.")


def test_a_lone_list_of_links_inside_the_story_needs_two_items() -> None:
    paragraphs = [STORY[0], "- Migrants queue for permits", STORY[1], STORY[2]]
    assert clean_paragraphs(paragraphs, is_link) == paragraphs


def test_choose_body_falls_back_in_order() -> None:
    body = choose_body([], STORY, None, [], is_link)
    assert body is not None and body.method == "readability"
    body = choose_body([], [], " ".join(STORY), [], is_link)
    assert body is not None and body.method == "jsonld"
    assert choose_body(["Too short."], ["Also short."], None, [], is_link) is None
