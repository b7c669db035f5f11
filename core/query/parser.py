"""Recursive-descent parser: query text → :mod:`core.query.ast` tree.

Precedence, tightest first: field prefix and NEAR, then NOT (and ``-``), then
AND (also implied between adjacent terms), then OR. Every error names the
0-based position and what was expected there.
"""

from __future__ import annotations

import re

from core.errors import ConfigError, QueryError
from core.query.aliases import AliasTable
from core.query.ast import (
    META_FIELDS,
    And,
    Entity,
    Field,
    Near,
    Node,
    Not,
    Or,
    Phrase,
    Term,
)
from core.query.lexer import Kind, Token, tokenize
from core.query.normalize import WORD_RE
from core.translatable import Translatable

MAX_DISTANCE = 100
MAX_DEPTH = 64
MIN_WILDCARD_PREFIX = 3

_PHRASE_WORD_RE = re.compile(rf"(=)?({WORD_RE.pattern})(\*)?")
_LANG_RE = re.compile(r"[a-z]{2,3}$")
_STARTS_PRIMARY = frozenset({Kind.WORD, Kind.PHRASE, Kind.LPAREN, Kind.ENTITY, Kind.FIELD})
_STARTS_UNARY = _STARTS_PRIMARY | {Kind.NOT}
_ALIAS_SYNTAX_RE = re.compile(r'["()]|\b(?:AND|OR|NOT|NEAR/\d+)\b|(?:^|\s)-\S')


def parse_tree(query: str, aliases: AliasTable | None) -> Node:
    """Parse ``query``; ``aliases`` None means ``@entity`` references are errors."""
    return _Parser(query, aliases).parse()


class _Parser:
    def __init__(self, query: str, aliases: AliasTable | None) -> None:
        self.query = query
        self.aliases = aliases
        self.tokens = tokenize(query)
        self.index = 0
        self.depth = 0
        self.field: str | None = None

    # --- helpers -------------------------------------------------------------
    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def kind(self) -> Kind:
        # a method, not the attribute, so type checkers do not carry narrowing
        # across calls that move the cursor
        return self.tokens[self.index].kind

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def error(self, message: Translatable, position: int | None = None) -> QueryError:
        at = self.current.position if position is None else position
        return QueryError(message, self.query, at)

    def describe(self, token: Token) -> str | Translatable:
        if token.kind is Kind.EOF:
            return Translatable.gettext("the end of the query")
        if token.kind is Kind.FIELD:
            return f"'{token.text}:'"
        return f"'{self.query[token.position : token.position + max(1, len(token.text))]}'"

    def expect_operand(self, after: Token) -> None:
        if self.current.kind not in _STARTS_UNARY:
            raise self.error(
                Translatable.gettext(
                    "expected a term, phrase or '(' after '%(after)s', found %(found)s",
                    after=after.text,
                    found=self.describe(self.current),
                )
            )

    # --- grammar -------------------------------------------------------------
    def parse(self) -> Node:
        if self.kind() is Kind.EOF:
            raise self.error(Translatable.gettext("empty query"), 0)
        node = self.parse_or()
        if self.kind() is Kind.RPAREN:
            raise self.error(Translatable.gettext("unexpected ')' without a matching '('"))
        if self.kind() is not Kind.EOF:
            raise self.error(
                Translatable.gettext("unexpected %(found)s", found=self.describe(self.current))
            )
        return node

    def parse_or(self) -> Node:
        children = [self.parse_and()]
        while self.current.kind is Kind.OR:
            self.expect_operand(self.advance())
            children.append(self.parse_and())
        return children[0] if len(children) == 1 else Or(_flatten(Or, children))

    def parse_and(self) -> Node:
        children = [self.parse_unary()]
        while True:
            if self.current.kind is Kind.AND:
                self.expect_operand(self.advance())
            elif self.current.kind not in _STARTS_UNARY:
                break
            children.append(self.parse_unary())
        return children[0] if len(children) == 1 else And(_flatten(And, children))

    def parse_unary(self) -> Node:
        if self.current.kind is Kind.NOT:
            token = self.advance()
            if self.current.kind not in _STARTS_UNARY:
                after = "'-'" if token.text == "-" else "'NOT'"
                raise self.error(
                    Translatable.gettext(
                        "expected a term, phrase or '(' after %(after)s", after=after
                    )
                )
            return Not(self.parse_unary())
        return self.parse_near()

    def parse_near(self) -> Node:
        node = self.parse_primary()
        while self.current.kind is Kind.NEAR:
            token = self.advance()
            if self.field in META_FIELDS:
                raise self.error(
                    Translatable.gettext(
                        "NEAR cannot be used inside '%(field)s:'", field=self.field
                    ),
                    token.position,
                )
            if not 1 <= token.number <= MAX_DISTANCE:
                raise self.error(
                    Translatable.gettext("NEAR distance must be 1 to %(num)s", num=MAX_DISTANCE),
                    token.position,
                )
            if self.current.kind not in _STARTS_PRIMARY:
                raise self.error(
                    Translatable.gettext(
                        "expected a term, phrase or '(' after '%(after)s', found %(found)s",
                        after=token.text,
                        found=self.describe(self.current),
                    )
                )
            right = self.parse_primary()
            for side in (node, right):
                if not _positional(side):
                    raise self.error(
                        Translatable.gettext(
                            "NEAR needs words, phrases, entities or OR-groups of them on both "
                            "sides (not AND, NOT or lang:/source:/domain:)"
                        ),
                        token.position,
                    )
            node = Near(node, right, token.number)
        return node

    def parse_primary(self) -> Node:
        token = self.current
        kind = token.kind
        if kind is Kind.FIELD:
            return self.parse_field()
        if kind is Kind.LPAREN:
            return self.parse_group()
        if kind is Kind.WORD:
            self.advance()
            return self.make_term(token)
        if kind is Kind.PHRASE:
            self.advance()
            return self.make_phrase(token)
        if kind is Kind.ENTITY:
            self.advance()
            return self.make_entity(token)
        if kind in (Kind.AND, Kind.OR):
            raise self.error(
                Translatable.gettext("'%(word)s' needs a term on its left", word=token.text)
            )
        if kind is Kind.NEAR:
            raise self.error(
                Translatable.gettext("'%(word)s' needs a term on its left", word=token.text)
            )
        if kind is Kind.RPAREN:
            raise self.error(Translatable.gettext("unexpected ')': expected a term, phrase or '('"))
        raise self.error(
            Translatable.gettext("expected a term, phrase or '(' but the query ends here")
        )

    def parse_field(self) -> Node:
        token = self.advance()
        if self.field is not None:
            raise self.error(
                Translatable.gettext(
                    "'%(inner)s:' cannot be used inside '%(field)s:'",
                    inner=token.text,
                    field=self.field,
                ),
                token.position,
            )
        if self.current.kind not in (Kind.WORD, Kind.PHRASE, Kind.LPAREN, Kind.ENTITY):
            raise self.error(
                Translatable.gettext(
                    "expected a term, phrase or '(' after '%(after)s:', found %(found)s",
                    after=token.text,
                    found=self.describe(self.current),
                )
            )
        self.field = token.text
        try:
            child = self.parse_primary()
        finally:
            self.field = None
        return Field(token.text, child)

    def parse_group(self) -> Node:
        opening = self.advance()
        if self.current.kind is Kind.RPAREN:
            raise self.error(
                Translatable.gettext("empty parentheses: expected a term, phrase or '('")
            )
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(
                Translatable.ngettext(
                    "query nests deeper than %(num)s parenthesis",
                    "query nests deeper than %(num)s parentheses",
                    MAX_DEPTH,
                ),
                opening.position,
            )
        node = self.parse_or()
        self.depth -= 1
        if self.kind() is not Kind.RPAREN:
            raise self.error(
                Translatable.gettext(
                    "expected ')' to close '(' at position %(position)s, found %(found)s",
                    position=opening.position,
                    found=self.describe(self.current),
                )
            )
        self.advance()
        return node

    # --- leaves --------------------------------------------------------------
    def make_term(self, token: Token) -> Node:
        text = token.text
        wildcard = text.endswith("*")
        body = text[:-1] if wildcard else text
        if self.field in META_FIELDS:
            return self.meta_value(token, body, wildcard)
        if text == "-":
            raise self.error(
                Translatable.gettext("expected a term right after '-' (no space between)"),
                token.position,
            )
        exact = body.startswith("=")
        if exact:
            body = body[1:]
            if wildcard:
                raise self.error(
                    Translatable.gettext("'=' (exact form) and '*' cannot be combined"),
                    token.position,
                )
        words = WORD_RE.findall(body)
        if not words:
            raise self.error(
                Translatable.gettext(
                    "'%(word)s' has no letters or digits to search for", word=text
                ),
                token.position,
            )
        if wildcard:
            if len(words) > 1 or len(words[0]) < MIN_WILDCARD_PREFIX:
                raise self.error(
                    Translatable.ngettext(
                        "a wildcard needs one word of at least %(num)s letter before '*'",
                        "a wildcard needs one word of at least %(num)s letters before '*'",
                        MIN_WILDCARD_PREFIX,
                    ),
                    token.position,
                )
            return Term(words[0], wildcard=True)
        if len(words) == 1:
            return Term(words[0], exact=exact)
        return Phrase(tuple(Term(w, exact=exact) for w in words))

    def make_phrase(self, token: Token) -> Node:
        slop = max(token.number, 0)
        if self.field in META_FIELDS:
            if token.number >= 0:
                raise self.error(
                    Translatable.gettext(
                        "'~N' cannot be used inside '%(field)s:'", field=self.field
                    ),
                    token.position,
                )
            return self.meta_value(token, token.text, False)
        if slop > MAX_DISTANCE:
            raise self.error(
                Translatable.gettext("phrase slop must be at most %(num)s", num=MAX_DISTANCE),
                token.position,
            )
        words: list[Term] = []
        for match in _PHRASE_WORD_RE.finditer(token.text):
            exact, word, star = bool(match.group(1)), match.group(2), bool(match.group(3))
            if star and len(word) < MIN_WILDCARD_PREFIX:
                raise self.error(
                    Translatable.ngettext(
                        "a wildcard needs at least %(num)s letter before '*'",
                        "a wildcard needs at least %(num)s letters before '*'",
                        MIN_WILDCARD_PREFIX,
                    ),
                    token.position,
                )
            if star and exact:
                raise self.error(
                    Translatable.gettext("'=' (exact form) and '*' cannot be combined"),
                    token.position,
                )
            words.append(Term(word, wildcard=star, exact=exact))
        if not words:
            raise self.error(
                Translatable.gettext("empty phrase: expected words between the quotes"),
                token.position,
            )
        if len(words) == 1:
            return words[0]
        return Phrase(tuple(words), slop)

    def meta_value(self, token: Token, value: str, wildcard: bool) -> Node:
        value = value.strip()
        if not value:
            raise self.error(
                Translatable.gettext("expected a value after '%(field)s:'", field=self.field),
                token.position,
            )
        if self.field == "lang" and (wildcard or not _LANG_RE.match(value.lower())):
            raise self.error(
                Translatable.gettext(
                    "lang: expects a language code such as ru, en or tg, not '%(value)s'",
                    value=value,
                ),
                token.position,
            )
        return Term(value, wildcard=wildcard)

    def make_entity(self, token: Token) -> Node:
        if self.field in META_FIELDS:
            raise self.error(
                Translatable.gettext(
                    "entities cannot be used inside '%(field)s:'", field=self.field
                ),
                token.position,
            )
        entity = self.aliases.get(token.text) if self.aliases is not None else None
        if entity is None or self.aliases is None:
            raise self.error(
                Translatable.gettext("unknown entity '@%(name)s'", name=token.text),
                token.position,
            )
        expansion = self.aliases.parsed.get(entity.name)
        if expansion is None:
            alternatives = [_parse_alias(entity.name, alias) for alias in entity.aliases]
            expansion = (
                alternatives[0] if len(alternatives) == 1 else Or(_flatten(Or, alternatives))
            )
            self.aliases.parsed[entity.name] = expansion
        if entity.name in self.aliases.parsed_exceptions:
            exceptions = self.aliases.parsed_exceptions[entity.name]
        else:
            patterns = [_parse_alias(entity.name, p, "not_within") for p in entity.not_within]
            exceptions = None
            if patterns:
                exceptions = patterns[0] if len(patterns) == 1 else Or(_flatten(Or, patterns))
            self.aliases.parsed_exceptions[entity.name] = exceptions
        return Entity(entity.name, entity.label, expansion, exceptions)


def _parse_alias(entity: str, alias: str, what: str = "alias") -> Node:
    """An alias is a phrase, unless it uses query syntax (quotes, operators)."""
    text = alias if _ALIAS_SYNTAX_RE.search(alias) else '"' + alias.replace('"', "") + '"'
    try:
        node = _Parser(text, None).parse()
    except QueryError as exc:
        raise ConfigError(f"{what} {alias!r} of entity '@{entity}' does not parse: {exc}") from exc
    if not _positional(node):
        raise ConfigError(
            f"{what} {alias!r} of entity '@{entity}' must be words, phrases, NEAR or OR "
            "(it has to say where in the text it matched)"
        )
    return node


def _positional(node: Node) -> bool:
    """Can the node say *where* it matched (needed by NEAR and entities)?"""
    if isinstance(node, Term | Phrase | Entity | Near):
        return True
    if isinstance(node, Or):
        return all(_positional(c) for c in node.children)
    if isinstance(node, Field):
        return node.name not in META_FIELDS and _positional(node.child)
    return False


def _flatten(kind: type[And | Or], children: list[Node]) -> tuple[Node, ...]:
    flat: list[Node] = []
    for child in children:
        if isinstance(child, kind):
            flat.extend(child.children)
        else:
            flat.append(child)
    return tuple(flat)
