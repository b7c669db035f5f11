"""Plans rendered as FTS5 MATCH expressions and PostgreSQL tsqueries.

A rendering is either *exact* (the database's answer is the matcher's answer)
or a *superset* (every matching story is among the rows, and the matcher
checks each). ``None`` as an expression means "no condition": the part the
index cannot decide is left entirely to the matcher. A negation of a superset
is not a superset, so ``NOT`` over an inexact part becomes "no condition".

SQLite cannot put several keys at one position (FTS5 tokenizers written in
Python are not available through the standard driver), so a word's keys are
consecutive tokens: phrases and NEAR become ``NEAR(...)`` groups wide enough
for every key of every word, which is a superset. PostgreSQL stores all keys
of a word at one position, so its phrases (``<->``) and short NEARs
(``<N>`` in both orders) are exact.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from db.search.plan import (
    AllOf,
    AnyOf,
    EitherOf,
    Meta,
    NearP,
    PhraseP,
    Plan,
    Positional,
    Unknown,
    Without,
    Word,
    single_words,
)
from db.search.tokens import EVERY, TOKENS_PER_WORD, slot_of

# Phrases and NEARs expand into one group per combination of their words' keys.
MAX_COMBINATIONS = 16
# PostgreSQL NEAR/N becomes 2N+3 phrase operators; beyond this it is a superset.
PG_MAX_EXACT_NEAR = 10


@dataclass(frozen=True, slots=True)
class Rendered:
    expr: str | None
    exact: bool


ANYTHING_INEXACT = Rendered(None, False)


class _Renderer:
    """Boolean structure shared by both syntaxes; leaves and positions are per back-end."""

    AND = " AND "
    OR = " OR "

    def render(self, plan: Plan) -> Rendered:
        if isinstance(plan, Word):
            return Rendered(self.word(plan), True)
        if isinstance(plan, Meta):
            return Rendered(self.meta(plan), True)
        if isinstance(plan, PhraseP):
            return self.phrase(plan)
        if isinstance(plan, NearP):
            return self.near(plan)
        if isinstance(plan, AnyOf | EitherOf):
            either = self.either([self.render(c) for c in plan.children])
            if isinstance(plan, AnyOf) and plan.superset:
                return Rendered(either.expr, False)
            return either
        if isinstance(plan, AllOf):
            return self.all_of(plan)
        if isinstance(plan, Without):
            child = self.render(plan.child)
            if child.expr is None or not child.exact:
                return ANYTHING_INEXACT
            return Rendered(self.negate(child.expr), True)
        if isinstance(plan, Unknown):
            return ANYTHING_INEXACT
        raise TypeError(f"not a plan node: {plan!r}")

    def either(self, parts: list[Rendered]) -> Rendered:
        exact = all(p.exact for p in parts)
        if any(p.expr is None for p in parts):
            return Rendered(None, False)
        exprs = list(dict.fromkeys(p.expr for p in parts if p.expr is not None))
        return Rendered(self.join(self.OR, exprs), exact)

    def all_of(self, plan: AllOf) -> Rendered:
        positives: list[str] = []
        negatives: list[str] = []
        exact = True
        for child in plan.children:
            if isinstance(child, Without):
                inner = self.render(child.child)
                if inner.expr is None or not inner.exact:
                    exact = False
                else:
                    negatives.append(inner.expr)
                continue
            part = self.render(child)
            exact = exact and part.exact
            if part.expr is not None:
                positives.append(part.expr)
        if not positives and not negatives:
            return Rendered(None, exact)
        return Rendered(self.conjunction(positives, negatives), exact)

    def join(self, op: str, exprs: list[str]) -> str:
        return exprs[0] if len(exprs) == 1 else "(" + op.join(exprs) + ")"

    def loose(self, plan: Positional) -> Rendered:
        """Every word of a positional plan, ignoring where: a superset."""
        if isinstance(plan, Word):
            return Rendered(self.word(plan), True)
        if isinstance(plan, PhraseP):
            return Rendered(self.join(self.AND, [self.word(w) for w in plan.words]), False)
        if isinstance(plan, NearP):
            left, right = self.loose(plan.left), self.loose(plan.right)
            assert left.expr is not None and right.expr is not None
            return Rendered(self.join(self.AND, [left.expr, right.expr]), False)
        parts = [self.render(c) for c in plan.children]
        either = self.either(parts)
        return Rendered(either.expr, False) if not either.exact or plan.superset else either

    # per back-end
    def word(self, word: Word) -> str:
        raise NotImplementedError

    def meta(self, meta: Meta) -> str:
        raise NotImplementedError

    def phrase(self, phrase: PhraseP) -> Rendered:
        raise NotImplementedError

    def near(self, near: NearP) -> Rendered:
        raise NotImplementedError

    def negate(self, expr: str) -> str:
        raise NotImplementedError

    def conjunction(self, positives: list[str], negatives: list[str]) -> str:
        raise NotImplementedError


def _fts_string(token: str) -> str:
    return '"' + token.replace('"', '""') + '"'


class Fts5Renderer(_Renderer):
    """FTS5 MATCH syntax over the columns ``title``, ``body`` and ``meta``."""

    def _alternatives(self, tokens: tuple[str, ...], prefix: str | None) -> list[str]:
        alts = [_fts_string(t) for t in tokens]
        if prefix is not None:
            alts.append(_fts_string(prefix) + " *")
        return alts

    def word(self, word: Word) -> str:
        inner = self.join(self.OR, self._alternatives(word.tokens, word.prefix))
        return "{title} : " + _group(inner) if word.title else inner

    def meta(self, meta: Meta) -> str:
        alts = self._alternatives(meta.tokens, meta.prefix)
        return self.join(self.OR, alts) if alts else _fts_string("!none")

    def _near_groups(
        self, words: list[list[tuple[str, int, int]]], extra: int, title: bool
    ) -> str | None:
        """OR of NEAR groups, one per choice of a key for each word.

        ``words``: per word, its alternatives as (FTS5 string, tokens of a word
        carrying it, its index in the word). A word's keys are consecutive
        tokens, so for adjacent words the distance between the chosen keys is
        known exactly; ``extra`` words may stand anywhere in between (slop).
        """
        combos = 1
        for alts in words:
            combos *= len(alts)
        if combos == 0 or combos > MAX_COMBINATIONS:
            return None
        groups = []
        for combo in itertools.product(*words):
            span = sum(size for _, size, _ in combo[:-1]) + combo[-1][2] - combo[0][2]
            between = max(span - 1 + extra * TOKENS_PER_WORD, 0)
            group = f"NEAR({' '.join(text for text, _, _ in combo)}, {between})"
            groups.append("{title} : " + group if title else group)
        return self.join(self.OR, groups)

    def _slotted(self, word: Word) -> list[tuple[str, int, int]]:
        alts = [(_fts_string(t), *slot_of(t)) for t in word.tokens]
        if word.prefix is not None:  # any form with this start: of either script
            alts.append((_fts_string(word.prefix) + " *", TOKENS_PER_WORD, 0))
        return alts

    def phrase(self, phrase: PhraseP) -> Rendered:
        words = [self._slotted(w) for w in phrase.words]
        groups = self._near_groups(words, phrase.slop, phrase.title)
        if groups is None:
            return self.loose(phrase)
        return Rendered(groups, False)

    def near(self, near: NearP) -> Rendered:
        left, right = single_words(near.left), single_words(near.right)
        if left is not None and right is not None:
            lefts = [(a, TOKENS_PER_WORD, 0) for w in left for a, _, _ in self._slotted(w)]
            rights = [(a, TOKENS_PER_WORD, 0) for w in right for a, _, _ in self._slotted(w)]
            # either order, up to `distance` words of any script between: the widest case
            groups = self._near_groups([lefts, rights], near.distance + 1, near.title)
            if groups is not None:
                return Rendered(groups, False)
        return self.loose(near)

    def negate(self, expr: str) -> str:
        return f"({_fts_string(EVERY)} NOT {expr})"

    def conjunction(self, positives: list[str], negatives: list[str]) -> str:
        base = self.join(self.AND, positives) if positives else _fts_string(EVERY)
        for negative in negatives:
            base = f"({base} NOT {negative})"
        return base


def _group(expr: str) -> str:
    return expr if expr.startswith("(") else f"({expr})"


def _pg_lexeme(token: str) -> str:
    return "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"


class TsqueryRenderer(_Renderer):
    """PostgreSQL tsquery text; title words carry weight A, the text D, metadata B."""

    AND = " & "
    OR = " | "

    def __init__(self, *, positions: bool = True) -> None:
        self.positions = positions

    def _alternatives(self, tokens: tuple[str, ...], prefix: str | None, weight: str) -> list[str]:
        alts = [_pg_lexeme(t) + (":" + weight if weight else "") for t in tokens]
        if prefix is not None:
            alts.append(_pg_lexeme(prefix) + ":*" + weight)
        return alts

    def word(self, word: Word) -> str:
        return self.join(self.OR, self._alternatives(word.tokens, word.prefix, _weight(word)))

    def meta(self, meta: Meta) -> str:
        alts = self._alternatives(meta.tokens, meta.prefix, "")
        return self.join(self.OR, alts) if alts else _pg_lexeme("!none")

    def phrase(self, phrase: PhraseP) -> Rendered:
        if not self.positions or phrase.slop:
            return self.loose(phrase)
        return Rendered("(" + " <-> ".join(self.word(w) for w in phrase.words) + ")", True)

    def near(self, near: NearP) -> Rendered:
        left, right = single_words(near.left), single_words(near.right)
        if (
            self.positions
            and left is not None
            and right is not None
            and near.distance <= PG_MAX_EXACT_NEAR
        ):
            a = self.join(self.OR, [self.word(w) for w in left])
            b = self.join(self.OR, [self.word(w) for w in right])
            options = [f"{a} <{k}> {b}" for k in range(near.distance + 2)]
            options += [f"{b} <{k}> {a}" for k in range(1, near.distance + 2)]
            return Rendered("(" + " | ".join(options) + ")", True)
        return self.loose(near)

    def negate(self, expr: str) -> str:
        return f"!{_group(expr)}"

    def conjunction(self, positives: list[str], negatives: list[str]) -> str:
        parts = positives + [self.negate(n) for n in negatives]
        return self.join(self.AND, parts)


def _weight(word: Word) -> str:
    return "A" if word.title else ""
