"""The combination rules on their own: voting, edge trimming by agreement, boilerplate lines."""

from __future__ import annotations

import lxml.html

from crawler.extraction.body import (
    BodyConfig,
    Evidence,
    LinkDensity,
    Reference,
    agreement,
    choose_body,
    drop_link_edges,
    drop_link_lines,
    drop_title,
    trim_edges,
    vote,
)
from crawler.extraction.boilerplate import clean_paragraphs, is_promo
from crawler.extraction.links import Anchors

STORY = [
    "The interior ministry opened a liaison office in Moscow on Tuesday to help migrants.",
    "Officials said the office would work with Russian police on cases involving citizens.",
    "Remittances from Russia make up a large share of the economy, the World Bank says.",
]


def test_edges_the_reference_lacks_are_trimmed() -> None:
    main = ["Share this article", *STORY, "Sign up for our daily briefing"]
    assert trim_edges(main, Reference(STORY)) == STORY


def test_nothing_is_trimmed_when_the_reference_disagrees() -> None:
    main = ["Share this article", *STORY]
    unrelated = Reference(["A completely different text about football and the weather today."])
    assert agreement(main, unrelated) == 0.0
    assert trim_edges(main, unrelated) == main


def test_trim_never_cuts_more_than_its_share() -> None:
    main = [*STORY, " ".join(STORY) + " A long trailing section the reference never saw."]
    assert trim_edges(main, Reference(STORY), min_agreement=0.3, max_trim_share=0.25) == main


def test_middle_paragraphs_missing_from_the_reference_are_kept() -> None:
    main = [STORY[0], "A quote the reference dropped, but inside the story.", *STORY[1:]]
    assert trim_edges(main, Reference(STORY)) == main


def test_description_confirms_a_lead_with_a_dateline() -> None:
    lead = "MOSCOW (Reuters) - " + STORY[0]
    ref = Reference(STORY[1:], summaries=[STORY[0]])
    assert trim_edges([lead, *STORY[1:]], ref)[0] == lead


def test_vote_keeps_what_either_other_extractor_confirms() -> None:
    wide = ["Most read: ten other stories", *STORY, "Newsletter: sign up today"]
    # favor_precision lost the last story paragraph; readability still has it.
    narrow, readability = STORY[:2], Reference([STORY[2]])
    assert vote(wide, narrow, readability) == STORY


def test_title_line_is_dropped() -> None:
    assert drop_title(["Office opens in Moscow", *STORY], ["Office opens in Moscow!"]) == STORY


def test_link_dense_edge_blocks_are_dropped() -> None:
    page = lxml.html.fromstring(
        "<html><body><p><a href='/a'>Tajik migrants queue for permits</a></p>"
        + "".join(f"<p>{p}</p>" for p in STORY)
        + "<p>Tags: <a href='/t'>migration police moscow office</a></p></body></html>"
    )
    density = LinkDensity(page)
    paragraphs = [
        "Tajik migrants queue for permits",
        *STORY,
        "Tags: migration police moscow office",
    ]
    assert density(STORY[0]) == 0.0 and density(paragraphs[0]) == 1.0
    assert drop_link_edges(paragraphs, density, 0.5) == STORY


HEADLINES = [
    "Russian police office opens in Dushanbe",
    "Labour ministry to open a Moscow office",
    "Istiqlol win the league a round early",
]


def test_a_list_of_linked_headlines_inside_the_story_is_dropped() -> None:
    """A related-news list between story and comment prompt is not at an edge; it still goes."""
    items = "".join(f"<li><a href='/{i}'>{h}</a></li>" for i, h in enumerate(HEADLINES))
    page = lxml.html.fromstring(
        "<html><body>"
        + "".join(f"<p>{p}</p>" for p in STORY[:2])
        + f"<div>Related news:</div><ul>{items}</ul><p>{STORY[2]}</p></body></html>"
    )
    paragraphs = [*STORY[:2], "Related news:", *HEADLINES, STORY[2]]
    kept = drop_link_lines(paragraphs, Anchors(page).share, 0.8, min_run=3)
    assert kept == [*STORY[:2], "Related news:", STORY[2]]


def test_a_single_linked_line_is_kept_when_a_run_is_required() -> None:
    page = lxml.html.fromstring(
        f"<html><body><p>{STORY[0]}</p><p><a href='/d'>{HEADLINES[0]}</a></p>"
        f"<p>{STORY[1]}</p></body></html>"
    )
    paragraphs = [STORY[0], HEADLINES[0], STORY[1]]
    assert drop_link_lines(paragraphs, Anchors(page).share, 0.8, min_run=3) == paragraphs
    assert drop_link_lines(paragraphs, Anchors(page).share, 0.8, min_run=1) == [STORY[0], STORY[1]]


def test_promo_lines_are_removed() -> None:
    paragraphs = [
        STORY[0],
        "Related: Migrants queue for permits",
        STORY[1],
        "Читайте также: В Душанбе открылся офис",
        "Police chief resigns [VIDEO]",
        STORY[2],
    ]
    assert clean_paragraphs(paragraphs) == STORY


def test_comment_section_is_cut_from_its_header() -> None:
    paragraphs = [*STORY, STORY[0] + " More.", "3 comments", "Great article!", "I disagree."]
    assert clean_paragraphs(paragraphs) == [*STORY, STORY[0] + " More."]


def test_story_sentences_that_mention_boilerplate_words_stay() -> None:
    paragraphs = [
        "Subscribers to the ministry's newsletter learned of the office first, officials said.",
        *STORY,
        "Police said they would follow up on the complaints next week; comments are welcome.",
    ]
    assert clean_paragraphs(paragraphs) == paragraphs
    assert not is_promo("More than 100 migrants queued outside the office.")


def _page(body: str) -> Evidence:
    tree = lxml.html.document_fromstring(f"<html><body>{body}</body></html>")
    return Evidence(tree, None, jsonld_body=" ".join(STORY) + " " + " ".join(STORY))


def test_choose_body_falls_back_to_json_ld() -> None:
    body = choose_body(_page("<form><input name=q></form>"))
    assert body is not None and body.method == "jsonld"
    assert choose_body(_page("<p>Too short.</p>"), BodyConfig()) is not None
    bare = Evidence(lxml.html.document_fromstring("<html><body><p>Short.</p></body></html>"), None)
    assert choose_body(bare) is None
