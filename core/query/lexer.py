"""Split query text into tokens that remember where they start."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum, auto

from core.errors import QueryError
from core.query.ast import FIELDS
from core.translatable import Translatable

MAX_QUERY_LENGTH = 10_000


class Kind(Enum):
    WORD = auto()
    PHRASE = auto()
    LPAREN = auto()
    RPAREN = auto()
    AND = auto()
    OR = auto()
    NOT = auto()
    NEAR = auto()
    FIELD = auto()
    ENTITY = auto()
    EOF = auto()


@dataclass(frozen=True, slots=True)
class Token:
    kind: Kind
    position: int
    text: str = ""
    number: int = 0  # NEAR distance, phrase slop; -1 when a phrase has no "~N"


_FIELD_RE = re.compile(r"([A-Za-z]+):")
_ENTITY_RE = re.compile(r"@([\w-]*)")
_NEAR_RE = re.compile(r"NEAR(?:/(\d+))?$")
_DIGITS_RE = re.compile(r"\d+")
_BARE_END = frozenset(' \t\r\n\f\v()"')


def tokenize(query: str) -> list[Token]:
    if len(query) > MAX_QUERY_LENGTH:
        raise QueryError(
            Translatable.ngettext(
                "query is longer than %(num)s character",
                "query is longer than %(num)s characters",
                MAX_QUERY_LENGTH,
            ),
            query,
            MAX_QUERY_LENGTH,
        )
    tokens: list[Token] = []
    i = 0
    while i < len(query):
        ch = query[i]
        if ch.isspace():
            i += 1
        elif ch == "(":
            tokens.append(Token(Kind.LPAREN, i))
            i += 1
        elif ch == ")":
            tokens.append(Token(Kind.RPAREN, i))
            i += 1
        elif ch == '"':
            i = _phrase(query, i, tokens)
        elif ch == "-" and i + 1 < len(query) and not query[i + 1].isspace():
            tokens.append(Token(Kind.NOT, i, "-"))
            i += 1
        elif ch == "@":
            i = _entity(query, i, tokens)
        else:
            i = _bare(query, i, tokens)
    tokens.append(Token(Kind.EOF, len(query)))
    return tokens


def _phrase(query: str, start: int, tokens: list[Token]) -> int:
    chars: list[str] = []
    i = start + 1
    while i < len(query) and query[i] != '"':
        if query[i] == "\\" and i + 1 < len(query):
            i += 1
        chars.append(query[i])
        i += 1
    if i >= len(query):
        raise QueryError(
            Translatable.gettext("unterminated phrase: expected a closing '\"'"), query, start
        )
    i += 1
    slop = -1
    if i < len(query) and query[i] == "~":
        digits = _DIGITS_RE.match(query, i + 1)
        if digits is None:
            raise QueryError(Translatable.gettext("expected a number after '~'"), query, i + 1)
        slop = int(digits.group())
        i = digits.end()
    tokens.append(Token(Kind.PHRASE, start, "".join(chars), slop))
    return i


def _entity(query: str, start: int, tokens: list[Token]) -> int:
    match = _ENTITY_RE.match(query, start)
    assert match is not None  # the pattern accepts an empty name
    if not match.group(1):
        raise QueryError(
            Translatable.gettext("expected an entity name after '@'"), query, start + 1
        )
    tokens.append(Token(Kind.ENTITY, start, match.group(1)))
    return match.end()


def _bare(query: str, start: int, tokens: list[Token]) -> int:
    end = start
    while end < len(query) and query[end] not in _BARE_END:
        end += 1
    word = query[start:end]
    field = _FIELD_RE.match(word)
    if field is not None:
        name = field.group(1).lower()
        if name not in FIELDS:
            known = ", ".join(sorted(FIELDS))
            raise QueryError(
                Translatable.gettext(
                    "unknown field '%(name)s' (known: %(known)s)", name=name, known=known
                ),
                query,
                start,
            )
        tokens.append(Token(Kind.FIELD, start, name))
        return start + field.end()
    if word in ("AND", "OR", "NOT"):
        tokens.append(Token(Kind[word], start, word))
        return end
    if word.startswith("NEAR") and (len(word) == 4 or word[4] == "/"):
        near = _NEAR_RE.match(word)
        if near is None or near.group(1) is None:
            raise QueryError(
                Translatable.gettext("NEAR needs a distance, e.g. NEAR/5"), query, start
            )
        tokens.append(Token(Kind.NEAR, start, word, int(near.group(1))))
        return end
    if "~" in word:
        raise QueryError(
            Translatable.gettext("'~N' can only follow a quoted phrase"),
            query,
            start + word.index("~"),
        )
    star = word.find("*")
    if star != -1 and star != len(word) - 1:
        raise QueryError(
            Translatable.gettext("'*' is only allowed at the end of a word"), query, start + star
        )
    tokens.append(Token(Kind.WORD, start, word))
    return end
