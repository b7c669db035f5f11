"""Compiled form of a query: small matcher objects evaluated against a story.

Compiling once per topic moves all analysis (folding, stemming, transliteration
keys) out of the per-story loop; a story is then tested with set look-ups.
Each matcher answers ``test`` (yes/no, fast, used by the topic index) and
``collect`` (yes/no plus the hits that explain it). Positional matchers
(words, phrases, entities, NEAR, OR-groups of them) also return the spans of
token positions where they matched, which phrases and NEAR combine.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from itertools import chain

from core.query.ast import And, Entity, Near, Node, Not, Or, Phrase, Term, render
from core.query.ast import Field as FieldNode
from core.query.document import AnalyzedDocument
from core.query.normalize import WORD_RE, fold_text, fold_word
from core.query.quotes import reader_why
from core.query.stemming import PREFIX_KEY_LEN, prefix_key, query_keys, translit_eligible

Span = tuple[int, int]
Clause = frozenset[str]


@dataclass(frozen=True, slots=True)
class Hit:
    """One query term that fired, and the story's own words that it matched."""

    query: str
    matched: str
    where: str  # "title", "text", or the metadata field: "lang", "source", "domain"
    # Character offsets of ``matched`` in the story's title or text (as analysed);
    # -1 for metadata hits, which have no place in the text.
    start: int = -1
    end: int = -1

    @property
    def label(self) -> str:
        """The query term and the story's word it matched, as a query author reads it."""
        if fold_text(self.query) == fold_text(self.matched):
            return self.query
        return f"{self.query} ≈ {self.matched}"


@dataclass(frozen=True, slots=True)
class MatchResult:
    matched: bool
    hits: list[Hit] = field(default_factory=list)
    # The analysed story, so ``why`` can quote it; quoting is left until asked for
    # because most matches (concepts, the topic index) never show their reasons.
    document: AnalyzedDocument | None = None

    @property
    def why(self) -> list[str]:
        """Why it matched in the reader's words: the story's own words, quoted in context.

        Never query syntax; see :func:`core.query.quotes.reader_why`.
        """
        if self.document is None:
            return self.labels
        return reader_why(self.document, self.hits)

    @property
    def labels(self) -> list[str]:
        """Distinct hit labels (query term ≈ story word) in the order they fired, for query authors."""
        return list(dict.fromkeys(hit.label for hit in self.hits))

    def __bool__(self) -> bool:
        return self.matched


class Matcher:
    cost = 1

    def test(self, doc: AnalyzedDocument) -> bool:
        raise NotImplementedError

    def collect(self, doc: AnalyzedDocument, hits: list[Hit]) -> bool:
        return self.test(doc)

    def clauses(self) -> list[Clause]:
        """Key sets a matching story must each share at least one key with."""
        return []


def index_keys(matcher: Matcher) -> Clause | None:
    """The most selective single clause, or None if the matcher has none."""
    clauses = matcher.clauses()
    return min(clauses, key=clause_score) if clauses else None


def clause_score(clause: Clause) -> tuple[int, int]:
    """Longer stems are rarer words; fewer keys mean fewer index entries."""
    shortest = min(len(key) - key.index(":") - 1 for key in clause)
    prefix_penalty = 4 if any(key.startswith("p:") for key in clause) else 0
    return (-(shortest - prefix_penalty), len(clause))


class Positional(Matcher):
    def spans(self, doc: AnalyzedDocument) -> list[Span]:
        raise NotImplementedError

    def explain(self, doc: AnalyzedDocument, span: Span) -> list[Hit]:
        raise NotImplementedError

    def parts(self, doc: AnalyzedDocument) -> list[Span]:
        """The places of the words that made each match: for NEAR, each side's
        place, not the words in between (what an entity's not_within drops)."""
        return self.spans(doc)

    def test(self, doc: AnalyzedDocument) -> bool:
        return bool(self.spans(doc))

    def collect(self, doc: AnalyzedDocument, hits: list[Hit]) -> bool:
        spans = self.spans(doc)
        if spans:
            hits.extend(self.explain(doc, spans[0]))
        return bool(spans)


def _hit(label: str, doc: AnalyzedDocument, span: Span) -> Hit:
    first, last = doc.token_at(span[0]), doc.token_at(span[1])
    return Hit(label, doc.surface(span[0], span[1]), doc.zone_name(span[0]), first.start, last.end)


class TermMatcher(Positional):
    def __init__(self, term: Term, title_only: bool) -> None:
        form = fold_word(term.text)
        self.label = ("=" if term.exact else "") + term.text + ("*" if term.wildcard else "")
        self.prefix = form if term.wildcard else None
        self.exact = form if term.exact else None
        translit = not term.exact and translit_eligible(form, term.text)
        self.keys = query_keys(form, translit)
        self.title_only = title_only

    def positions(self, doc: AnalyzedDocument) -> list[int]:
        if self.prefix is not None:
            prefix = self.prefix
            forms = doc.forms
            found = [forms[form] for form in doc.forms_starting(prefix)]
        elif self.exact is not None:
            found = [doc.forms[self.exact]] if self.exact in doc.forms else []
        else:
            postings = doc.postings
            found = [postings[key] for key in self.keys if key in postings]
        if not found:
            return []
        positions = found[0] if len(found) == 1 else sorted(set(chain.from_iterable(found)))
        if self.title_only:
            end = doc.title_end
            return [p for p in positions if p < end]
        return positions

    def test(self, doc: AnalyzedDocument) -> bool:
        if self.prefix is None and self.exact is None:
            keys = doc.title_keys if self.title_only else doc.postings.keys()
            return not keys.isdisjoint(self.keys)
        return bool(self.positions(doc))

    def spans(self, doc: AnalyzedDocument) -> list[Span]:
        return [(p, p) for p in self.positions(doc)]

    def explain(self, doc: AnalyzedDocument, span: Span) -> list[Hit]:
        return [_hit(self.label, doc, span)]

    def clauses(self) -> list[Clause]:
        if self.prefix is None:
            # for an exact form its stem keys are a necessary (weaker) condition
            return [self.keys]
        if len(self.prefix) >= PREFIX_KEY_LEN:
            return [frozenset({prefix_key(self.prefix)})]
        return []


class PhraseMatcher(Positional):
    cost = 3

    def __init__(self, phrase: Phrase, title_only: bool) -> None:
        self.words = [TermMatcher(w, title_only) for w in phrase.words]
        self.slop = phrase.slop
        self.label = render(phrase)

    def test(self, doc: AnalyzedDocument) -> bool:
        return all(w.test(doc) for w in self.words) and bool(self.spans(doc))

    def spans(self, doc: AnalyzedDocument) -> list[Span]:
        lists = [w.positions(doc) for w in self.words]
        if not all(lists):
            return []
        if self.slop == 0:
            rest = [set(ps) for ps in lists[1:]]
            last = len(lists) - 1
            return [
                (p, p + last)
                for p in lists[0]
                if all(p + i + 1 in positions for i, positions in enumerate(rest))
            ]
        return self._sloppy(lists)

    def _sloppy(self, lists: list[list[int]]) -> list[Span]:
        spans: list[Span] = []
        for start in lists[0]:
            current = start
            for positions in lists[1:]:
                i = bisect.bisect_right(positions, current)
                if i == len(positions):
                    return spans
                current = positions[i]
            if current - start - (len(lists) - 1) <= self.slop:
                spans.append((start, current))
        return spans

    def explain(self, doc: AnalyzedDocument, span: Span) -> list[Hit]:
        return [_hit(self.label, doc, span)]

    def clauses(self) -> list[Clause]:
        return [c for w in self.words for c in w.clauses()]


class NearMatcher(Positional):
    cost = 6

    def __init__(self, left: Positional, right: Positional, distance: int) -> None:
        self.left, self.right, self.distance = left, right, distance

    def test(self, doc: AnalyzedDocument) -> bool:
        return self.left.test(doc) and self.right.test(doc) and bool(self.spans(doc))

    def _pairs(self, doc: AnalyzedDocument) -> list[tuple[Span, Span]]:
        lefts = self.left.spans(doc)
        if not lefts:
            return []
        rights = self.right.spans(doc)  # sorted by start
        if not rights:
            return []
        starts = [b[0] for b in rights]
        longest = max(b[1] - b[0] for b in rights)
        reach = self.distance + 1
        pairs = []
        for a in lefts:
            # only right spans starting within reach of this left span can qualify
            lo = bisect.bisect_left(starts, a[0] - reach - longest)
            hi = bisect.bisect_right(starts, a[1] + reach)
            for b in rights[lo:hi]:
                # words strictly between the two spans (negative when they overlap)
                between = b[0] - a[1] - 1 if b[0] > a[1] else a[0] - b[1] - 1
                if between <= self.distance:
                    pairs.append((a, b))
        return pairs

    def spans(self, doc: AnalyzedDocument) -> list[Span]:
        found = {(min(a[0], b[0]), max(a[1], b[1])) for a, b in self._pairs(doc)}
        return sorted(found)

    def parts(self, doc: AnalyzedDocument) -> list[Span]:
        return sorted({side for pair in self._pairs(doc) for side in pair})

    def explain(self, doc: AnalyzedDocument, span: Span) -> list[Hit]:
        for a, b in self._pairs(doc):
            if (min(a[0], b[0]), max(a[1], b[1])) == span:
                return self.left.explain(doc, a) + self.right.explain(doc, b)
        return []

    def clauses(self) -> list[Clause]:
        return self.left.clauses() + self.right.clauses()


class EntityMatcher(Positional):
    cost = 4

    def __init__(self, label: str, inner: Positional, exceptions: Positional | None = None) -> None:
        self.label, self.inner, self.exceptions = label, inner, exceptions

    def test(self, doc: AnalyzedDocument) -> bool:
        if not self.inner.test(doc):
            return False
        # the exceptions' own quick test first: most stories have none of their words
        if self.exceptions is None or not self.exceptions.test(doc):
            return True
        return bool(self.spans(doc))

    def spans(self, doc: AnalyzedDocument) -> list[Span]:
        spans = self.inner.spans(doc)
        if self.exceptions is None or not spans or not self.exceptions.test(doc):
            return spans
        # a word that is part of one of the entity's not_within patterns is another
        # sense of it (for a NEAR pattern: one of its two sides, not the words between)
        excluded = self.exceptions.parts(doc)
        if not excluded:
            return spans
        return [s for s in spans if not any(a <= s[0] and s[1] <= b for a, b in excluded)]

    def explain(self, doc: AnalyzedDocument, span: Span) -> list[Hit]:
        return [_hit(self.label, doc, span)]

    def clauses(self) -> list[Clause]:
        return self.inner.clauses()


def _union_clause(children: list[Matcher]) -> list[Clause]:
    keys: set[str] = set()
    for child in children:
        best = index_keys(child)
        if best is None:
            return []
        keys |= best
    return [frozenset(keys)]


class OrMatcher(Matcher):
    def __init__(self, children: list[Matcher]) -> None:
        self.children = sorted(children, key=lambda c: c.cost)
        self.cost = sum(c.cost for c in children)

    def test(self, doc: AnalyzedDocument) -> bool:
        return any(c.test(doc) for c in self.children)

    def collect(self, doc: AnalyzedDocument, hits: list[Hit]) -> bool:
        found = False
        for child in self.children:
            found = child.collect(doc, hits) or found
        return found

    def clauses(self) -> list[Clause]:
        return _union_clause(self.children)


class PositionalOr(OrMatcher, Positional):
    def __init__(self, children: list[Positional]) -> None:
        super().__init__(list(children))
        self.positional = children

    def test(self, doc: AnalyzedDocument) -> bool:
        return any(c.test(doc) for c in self.positional)

    def collect(self, doc: AnalyzedDocument, hits: list[Hit]) -> bool:
        return OrMatcher.collect(self, doc, hits)

    def spans(self, doc: AnalyzedDocument) -> list[Span]:
        found: set[Span] = set()
        for child in self.positional:
            found.update(child.spans(doc))
        return sorted(found)

    def explain(self, doc: AnalyzedDocument, span: Span) -> list[Hit]:
        for child in self.positional:
            if span in child.spans(doc):
                return child.explain(doc, span)
        return []

    def parts(self, doc: AnalyzedDocument) -> list[Span]:
        found: set[Span] = set()
        for child in self.positional:
            found.update(child.parts(doc))
        return sorted(found)


class AndMatcher(Matcher):
    def __init__(self, children: list[Matcher]) -> None:
        self.children = sorted(children, key=lambda c: c.cost)
        self.cost = sum(c.cost for c in children)

    def test(self, doc: AnalyzedDocument) -> bool:
        return all(c.test(doc) for c in self.children)

    def collect(self, doc: AnalyzedDocument, hits: list[Hit]) -> bool:
        mine: list[Hit] = []
        for child in self.children:
            if not child.collect(doc, mine):
                return False
        hits.extend(mine)
        return True

    def clauses(self) -> list[Clause]:
        return [c for child in self.children for c in child.clauses()]


class NotMatcher(Matcher):
    def __init__(self, child: Matcher) -> None:
        self.child = child
        self.cost = child.cost + 1

    def test(self, doc: AnalyzedDocument) -> bool:
        return not self.child.test(doc)


class MetaMatcher(Matcher):
    """lang:, source:, domain: compare a value with the story's metadata."""

    def __init__(self, name: str, term: Term) -> None:
        self.name = name
        self.label = f"{name}:{term.text}{'*' if term.wildcard else ''}"
        self.wildcard = term.wildcard
        value = term.text.strip().lower()
        if name == "lang":
            value = "tg" if value == "tj" else value
        elif name == "source":
            value = " ".join(fold_word(w) for w in WORD_RE.findall(value))
        else:
            value = value.removeprefix("www.").strip(".")
        self.value = value

    def actual(self, doc: AnalyzedDocument) -> str:
        if self.name == "lang":
            return doc.lang or ""
        if self.name == "source":
            return doc.source
        return doc.host

    def test(self, doc: AnalyzedDocument) -> bool:
        actual, value = self.actual(doc), self.value
        if not actual:
            return False
        if self.name == "lang":
            return actual == value
        if self.name == "source":
            # whole words of the source name, or a word prefix with "*"
            if self.wildcard:
                return f" {value}" in f" {actual}"
            return f" {value} " in f" {actual} "
        # domain: the host itself or any parent domain, or a label prefix with "*"
        if self.wildcard:
            return f".{value}" in f".{actual}"
        return actual == value or actual.endswith("." + value)

    def collect(self, doc: AnalyzedDocument, hits: list[Hit]) -> bool:
        if not self.test(doc):
            return False
        shown = self.actual(doc)
        if self.name == "source":
            shown = doc.document.source or shown
        hits.append(Hit(self.label, f"{self.name}:{shown}", self.name))
        return True


def compile_node(node: Node, title_only: bool = False, meta: str | None = None) -> Matcher:
    """Turn a syntax tree into matchers (the parser has already checked it)."""
    if isinstance(node, Term):
        return MetaMatcher(meta, node) if meta else TermMatcher(node, title_only)
    if isinstance(node, Phrase):
        return PhraseMatcher(node, title_only)
    if isinstance(node, And):
        return AndMatcher([compile_node(c, title_only, meta) for c in node.children])
    if isinstance(node, Or):
        children = [compile_node(c, title_only, meta) for c in node.children]
        if all(isinstance(c, Positional) for c in children):
            return PositionalOr([c for c in children if isinstance(c, Positional)])
        return OrMatcher(children)
    if isinstance(node, Not):
        return NotMatcher(compile_node(node.child, title_only, meta))
    if isinstance(node, FieldNode):
        if node.name == "title":
            return compile_node(node.child, True, None)
        return compile_node(node.child, False, node.name)
    if isinstance(node, Near):
        return NearMatcher(
            _positional(compile_node(node.left, title_only)),
            _positional(compile_node(node.right, title_only)),
            node.distance,
        )
    if isinstance(node, Entity):
        exceptions = None
        if node.exceptions is not None:
            exceptions = _positional(compile_node(node.exceptions, title_only))
        return EntityMatcher(
            node.label, _positional(compile_node(node.expansion, title_only)), exceptions
        )
    raise TypeError(f"not a query node: {node!r}")


def _positional(matcher: Matcher) -> Positional:
    if not isinstance(matcher, Positional):
        raise TypeError("NEAR and entities need positional operands")
    return matcher
