"""Query grammar: precedence, every operator, fields, canonical text, errors."""

from __future__ import annotations

import pytest

from core.errors import QueryError
from core.query import parse
from core.query.ast import And, Entity, Field, Near, Not, Or, Phrase, Term


def tree(text: str):
    return parse(text).root


def test_implicit_and_between_adjacent_terms():
    assert tree("police office") == And((Term("police"), Term("office")))


def test_not_binds_tighter_than_and_which_binds_tighter_than_or():
    assert tree("a b OR NOT c d") == Or(
        (And((Term("a"), Term("b"))), And((Not(Term("c")), Term("d"))))
    )


def test_parentheses_override_precedence():
    assert tree("(a OR b) c") == And((Or((Term("a"), Term("b"))), Term("c")))


def test_minus_is_not():
    assert tree("a -b") == And((Term("a"), Not(Term("b"))))


def test_hyphen_inside_a_word_is_a_phrase_not_a_negation():
    assert tree("Россия-Таджикистан") == Phrase((Term("Россия"), Term("Таджикистан")))


def test_lowercase_operator_words_are_plain_words():
    assert tree("police and office") == And((Term("police"), Term("and"), Term("office")))


def test_phrase_with_slop_and_near():
    assert tree('"labour migration"~2') == Phrase((Term("labour"), Term("migration")), 2)
    assert tree("МВД NEAR/5 офис") == Near(Term("МВД"), Term("офис"), 5)


def test_near_binds_tighter_than_not_and_chains_left():
    assert tree("NOT a NEAR/2 b NEAR/3 c") == Not(Near(Near(Term("a"), Term("b"), 2), Term("c"), 3))


def test_near_accepts_or_groups_and_entities():
    node = tree("(МВД OR полиция) NEAR/5 @moscow")
    assert isinstance(node, Near)
    assert node.left == Or((Term("МВД"), Term("полиция")))
    assert isinstance(node.right, Entity) and node.right.name == "moscow"


def test_wildcard_and_exact_form():
    assert tree("мигрант*") == Term("мигрант", wildcard=True)
    assert tree("=office") == Term("office", exact=True)
    assert tree('"трудов* мигрант"') == Phrase((Term("трудов", wildcard=True), Term("мигрант")))


def test_field_applies_to_next_term_phrase_or_group():
    assert tree("title:a b") == And((Field("title", Term("a")), Term("b")))
    assert tree('title:"a b"') == Field("title", Phrase((Term("a"), Term("b"))))
    assert tree("lang:(ru OR tg) x") == And(
        (Field("lang", Or((Term("ru"), Term("tg")))), Term("x"))
    )


def test_metadata_values_are_kept_whole():
    assert tree("domain:asiaplustj.info") == Field("domain", Term("asiaplustj.info"))
    assert tree('source:"Asia Plus"') == Field("source", Term("Asia Plus"))


def test_entity_expands_to_its_aliases():
    node = tree("@tj-interior-ministry")
    assert isinstance(node, Entity)
    assert node.label == "МВД Таджикистана"
    assert isinstance(node.expansion, Or)
    assert Term("ВКД") in node.expansion.children


@pytest.mark.parametrize(
    "text",
    [
        "a b OR NOT c d",
        "(a OR b) (c OR NOT d)",
        '"labour migration"~2 NEAR/4 (@moscow OR Москва) title:мигрант*',
        "lang:(ru OR tg) -domain:example.com =office",
        'source:"Asia Plus" NOT (a NEAR/1 b)',
        "a NEAR/2 (b NEAR/3 c)",
    ],
)
def test_rendered_query_parses_back_to_the_same_tree(text):
    query = parse(text)
    assert parse(str(query)).root == query.root


def test_render_is_normalised():
    assert str(parse("a  b OR   -c")) == "a AND b OR NOT c"
    assert str(parse("(a OR b) c")) == "(a OR b) AND c"


def test_required_terms_of_and_but_not_of_or_or_not():
    query = parse('a (b OR c) -d "e f" g NEAR/3 h')
    assert query.required_terms() == [
        Term("a"),
        Phrase((Term("e"), Term("f"))),
        Term("g"),
        Term("h"),
    ]


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ("", 0, "empty query"),
        ("   ", 0, "empty query"),
        ("(a OR b", 7, "expected ')'"),
        ("a)", 1, "unexpected ')'"),
        ("a AND", 5, "after 'AND'"),
        ("a OR", 4, "after 'OR'"),
        ("OR a", 0, "'OR' needs a term on its left"),
        ("a NOT", 5, "after 'NOT'"),
        ("foo:bar", 0, "unknown field 'foo'"),
        ("x @nosuch", 2, "unknown entity '@nosuch'"),
        ("a NEAR b", 2, "NEAR needs a distance"),
        ("a NEAR/ b", 2, "NEAR needs a distance"),
        ("a NEAR/0 b", 2, "NEAR distance must be"),
        ("(a b) NEAR/3 c", 6, "NEAR needs words, phrases"),
        ('"a b', 0, "unterminated phrase"),
        ('"a b"~', 6, "expected a number after '~'"),
        ("a~2", 1, "'~N' can only follow a quoted phrase"),
        ("mi*grant", 2, "'*' is only allowed at the end"),
        ("ab*", 0, "a wildcard needs"),
        ("title:", 6, "after 'title:'"),
        ("title:(lang:ru)", 7, "cannot be used inside 'title:'"),
        ("title:lang:ru", 6, "after 'title:'"),
        ("lang:russian", 5, "language code"),
        ("()", 1, "empty parentheses"),
        ('""', 0, "empty phrase"),
        ("a - b", 2, "right after '-'"),
        ("…", 0, "no letters or digits"),
        ("@", 1, "entity name"),
        ("=ab*", 0, "cannot be combined"),
    ],
)
def test_errors_say_what_was_expected_and_where(text, position, fragment):
    with pytest.raises(QueryError) as info:
        parse(text)
    assert info.value.position == position
    assert fragment in info.value.reason
    assert info.value.query == text


def test_overlong_and_overdeep_queries_are_refused():
    with pytest.raises(QueryError, match="longer than"):
        parse("a " * 6000)
    with pytest.raises(QueryError, match="deeper than"):
        parse("(" * 80 + "a" + ")" * 80)


def test_grammar_doc_covers_every_field_and_operator():
    from pathlib import Path

    from core.query.ast import FIELDS

    doc = (Path(__file__).resolve().parent.parent / "docs" / "query-language.md").read_text(
        encoding="utf-8"
    )
    for word in [f"`{name}:`" for name in FIELDS] + ["`AND`", "`OR`", "NOT", "NEAR/", "~2"]:
        assert word in doc, word
    for syntax in ("мигрант*", "=office", "@tj-interior-ministry", "-x"):
        assert syntax in doc, syntax
