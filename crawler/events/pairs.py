"""How likely two reports are to be about one event: features, and a small learned model.

The features are the evidence an editor would weigh: the same concepts and
entities (in any language), the same act or a different one ("signed" vs
"ratified"), the same names and figures, the same words when the language is
shared, the time between them, and a Telegram post linking the article. A
logistic regression, trained here on our own labelled events
(``bench/events/train.py``, ``model.json`` beside this file), weighs them; its
coefficients are few and readable.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from core.lexicon import Lexicon, default_lexicon

from crawler.events.signature import EventSignature

MODEL_FILE = Path(__file__).resolve().parent / "model.json"
BACKGROUND_FILE = Path(__file__).resolve().parent / "background.json"

FEATURES = (
    "headline_concepts_in_bodies",
    "places",
    "places_conflict",
    "actions_same",
    "actions_conflict",
    "words",
    "names",
    "numbers_shared",
    "numbers_conflict",
    "same_lang",
    "link",
    "concepts_x_other_lang",
    "names_x_other_lang",
    "title_concepts",
    "title_concepts_x_other_lang",
    "title_actions_conflict",
    "title_places_conflict",
    "names_overlap_x_other_lang",
    "title_countries_conflict",
    "title_repeat_mismatch",
    "dates_conflict",
)

Idf = Callable[[str], float]

# Below this word or name agreement, two reports in one language are not credited
# for sharing concepts: on general news the beat's concepts fire on a stray word
# ("Stockholm" in two hockey stories), and two reports that share no rare words or
# names are rarely one event however alike their few concepts look. Chosen on the
# development parts (0.15 to 0.3 tried; see docs/dedup.md, "Concepts anchored in the headlines").
CONCEPT_WORDS_GATE = 0.2


class DocumentFrequencies:
    """Document frequencies of signature keys, as an inverse-frequency weight.

    Rare keys (a surname, an unusual place) say more about the event than
    common ones ("police", "Moscow"). Counted over whatever collection is at
    hand: the stories being grouped offline, or the archive in the database.
    """

    def __init__(self, counts: Mapping[str, int] | None = None, total: int = 0) -> None:
        self.counts: dict[str, int] = dict(counts or {})
        self.total = total

    @classmethod
    def of(cls, signatures: Iterable[EventSignature]) -> DocumentFrequencies:
        frequencies = cls()
        for signature in signatures:
            frequencies.add(signature)
        return frequencies

    def add(self, signature: EventSignature) -> None:
        self.total += 1
        for key in signature_keys(signature):
            self.counts[key] = self.counts.get(key, 0) + 1

    def idf(self, key: str) -> float:
        return math.log((self.total + 1) / (self.counts.get(key, 0) + 1)) + 1.0

    def plus(self, other: DocumentFrequencies) -> DocumentFrequencies:
        """Both collections counted together."""
        counts = dict(self.counts)
        for key, count in other.counts.items():
            counts[key] = counts.get(key, 0) + count
        return DocumentFrequencies(counts, self.total + other.total)


@lru_cache(maxsize=1)
def background() -> DocumentFrequencies:
    """Frequencies counted once over our own labelled news texts (bench/events/train.py).

    Added to whatever collection is at hand: a new archive of a few dozen
    stories, or one ``wirewatch dedup`` file, all about one beat, would
    otherwise make the beat's own words look rare and every report of it alike.
    """
    data = json.loads(BACKGROUND_FILE.read_text(encoding="utf-8"))
    return DocumentFrequencies(data["counts"], int(data["total"]))


class IdfTable(dict[str, float]):
    """Weights by key, each computed once by ``weight`` and kept: one placement compares
    one story with many members and asks for the same keys again and again.

    Pass ``table.__getitem__`` as the ``idf`` of ``pair_features``: it then also keeps
    here what depends on one side only (its norms), so the story's are computed once
    per placement rather than once per comparison. Weights never change once
    computed, so neither do the norms; make a new table when the counts change.
    """

    def __init__(self, weight: Idf) -> None:
        super().__init__()
        self.weight = weight
        # id of a side -> (the side, kept alive so its id is not reused; the value).
        self.kept: dict[tuple[int, str], tuple[object, float]] = {}

    def __missing__(self, key: str) -> float:
        weight = self[key] = self.weight(key)
        return weight


def _kept(idf: Idf, side: object, what: str, compute: Callable[[], float]) -> float:
    """``compute()``, remembered for this side in the ``IdfTable`` behind ``idf`` (if any)."""
    table = getattr(idf, "__self__", None)
    if not isinstance(table, IdfTable):
        return compute()
    found = table.kept.get((id(side), what))
    if found is not None and found[0] is side:
        return found[1]
    value = compute()
    table.kept[(id(side), what)] = (side, value)
    return value


def signature_keys(signature: EventSignature) -> frozenset[str]:
    """Every key a signature is counted under for document frequencies: its concepts
    (``c:``), its words and its names (``n:``)."""
    keys: set[str] = set()
    add_signature_keys(keys, signature)
    return frozenset(keys)


_SIDE = "_pair_side"


@dataclass(frozen=True)
class _Side:
    """What one signature brings to every comparison, worked out once per signature
    (a member is compared with many later stories): its concepts by kind, keys
    already prefixed as the idf knows them, and the log of each word count."""

    lexicon: Lexicon
    plain: frozenset[str]  # "c:" concepts that are not acts
    places: frozenset[str]  # "c:" places
    actions: frozenset[str]
    action_keys: frozenset[str]  # "c:" actions
    title_concepts: frozenset[str]  # "c:"
    title_actions: frozenset[str]
    title_places: frozenset[str]
    title_countries: frozenset[str]
    names: frozenset[str]  # "n:"
    log_words: dict[str, float]


def _side(signature: EventSignature, lexicon: Lexicon) -> _Side:
    found: _Side | None = signature.__dict__.get(_SIDE)
    if found is not None and found.lexicon is lexicon:
        return found
    actions = _of_kind(signature.concepts, lexicon, "action")
    title = signature.title_concepts
    # Prefixed keys interned: one string object per key, however many kept signatures
    # carry it (without it the kept parts cost 19 kB per signature on the synthetic
    # stream). Built inline, from lists in the sets' own order: every member of a
    # candidate event not compared lately comes here, and a helper's calls were a
    # fifth of its cost.
    intern = sys.intern
    found = _Side(
        lexicon=lexicon,
        plain=frozenset([intern("c:" + c) for c in signature.concepts - actions]),
        places=frozenset(
            [intern("c:" + c) for c in _of_kind(signature.concepts, lexicon, "place")]
        ),
        actions=frozenset(actions),
        action_keys=frozenset([intern("c:" + c) for c in actions]),
        title_concepts=frozenset([intern("c:" + c) for c in title]),
        title_actions=frozenset(_actions(title, lexicon)),
        title_places=frozenset(_places(title, lexicon)),
        title_countries=frozenset(_countries(title, lexicon)),
        names=frozenset([intern("n:" + n) for n in signature.names]),
        log_words={key: math.log1p(count) for key, count in signature.words.items()},
    )
    signature.__dict__[_SIDE] = found
    return found


def add_signature_keys(keys: set[str], signature: EventSignature) -> None:
    """Add the signature's keys (``signature_keys``) to ``keys``, from the parts kept
    for comparisons: a placement gathers the keys of every compared member, and a
    member is compared with many later stories (building its key set each time
    cost 5% of placement)."""
    side = _side(signature, default_lexicon())
    keys.update(side.plain, side.action_keys, side.log_words, side.names)


def pair_features(
    a: EventSignature, b: EventSignature, idf: Idf, lexicon: Lexicon | None = None
) -> list[float]:
    lexicon = lexicon or default_lexicon()
    sa, sb = _side(a, lexicon), _side(b, lexicon)
    actions_a, actions_b = sa.actions, sb.actions
    places_a, places_b = sa.places, sb.places
    names = _weighted_jaccard(sa.names, sb.names, idf, "")
    same_lang = float(a.lang is not None and a.lang == b.lang)
    # The whole bodies' concepts count across languages only, where no words are shared.
    concepts = 0.0 if same_lang else _weighted_cosine(sa.plain, sb.plain, idf, "")
    # The body's words, or the headline's when they agree more: rewrites of one
    # report often keep the headline and change the text.
    words = max(
        _log_cosine(sa.log_words, sb.log_words, idf),
        _weighted_cosine(a.title_words, b.title_words, idf, ""),
    )
    both_actions = bool(actions_a and actions_b)
    shared_numbers = a.numbers & b.numbers
    both_numbers = bool(a.numbers and b.numbers)
    # What the headlines say happened, in any language: the body's background
    # (earlier offices, other agreements) blurs the body's concepts.
    headline = _weighted_cosine(sa.title_concepts, sb.title_concepts, idf, "")
    return [
        _anchored_concepts(sa.plain, sb.plain, sa.title_concepts | sb.title_concepts, idf)
        if not same_lang or max(words, names) >= CONCEPT_WORDS_GATE
        else 0.0,
        _weighted_jaccard(places_a, places_b, idf, ""),
        float(bool(places_a and places_b and (places_a ^ places_b))),
        len(actions_a & actions_b) / len(actions_a | actions_b) if both_actions else 0.0,
        float(both_actions and not actions_a & actions_b),
        words,
        names,
        len(shared_numbers) / min(len(a.numbers), len(b.numbers)) if both_numbers else 0.0,
        float(both_numbers and not shared_numbers),
        same_lang,
        float(_linked(a, b)),
        concepts * (1.0 - same_lang),
        names * (1.0 - same_lang),
        headline,
        headline * (1.0 - same_lang),
        float(_disjoint(sa.title_actions, sb.title_actions)),
        float(_disjoint(sa.title_places, sb.title_places)),
        _weighted_overlap(sa.names, sb.names, idf, "") * (1.0 - same_lang),
        float(_each_lacks(sa.title_countries, sb.title_countries)),
        float(a.title_repeat != b.title_repeat),
        float(bool(a.dates and b.dates and a.dates.isdisjoint(b.dates))),
    ]


_DATES_CONFLICT = FEATURES.index("dates_conflict")


def development_features(
    a: EventSignature, b: EventSignature, idf: Idf, lexicon: Lexicon | None = None
) -> list[float]:
    """``pair_features`` as a later step of a matter is judged: days named apart are no
    evidence against it, since a development happens on another day by nature."""
    features = pair_features(a, b, idf, lexicon)
    features[_DATES_CONFLICT] = 0.0
    return features


# Cities the alias table names as entities rather than as lexicon places.
_CITY_ENTITIES = frozenset({"moscow", "dushanbe"})


# The concepts of one kind, per set of concepts: each signature's few sets are asked
# about in every comparison. The sets returned are shared: never change them.
@lru_cache(maxsize=20_000)
def _of_kind(concepts: frozenset[str], lexicon: Lexicon, kind: str) -> set[str]:
    kinds = _kinds(lexicon)
    return {c for c in concepts if kinds[c] == kind}


@lru_cache(maxsize=8)
def _kinds(lexicon: Lexicon) -> dict[str, str]:
    """``lexicon.kind`` of every concept, as one dict: a signature decoded for its first
    comparison asks for the kind of each of its concepts several times, and the calls
    cost more than the rest of its preparation."""
    return {name: concept.kind for name, concept in lexicon.concepts.items()}


def _actions(concepts: frozenset[str], lexicon: Lexicon) -> set[str]:
    return _of_kind(concepts, lexicon, "action")


@lru_cache(maxsize=20_000)
def _places(concepts: frozenset[str], lexicon: Lexicon) -> set[str]:
    """Where a headline puts the happening: foreign places and cities, not the home countries.

    A group of cities ("ru-cities") counts only when the headline names no place of its
    own: a headline's city carries its country's group as well, so two headlines naming
    two cities of one country (a flight from St Petersburg, another from Yekaterinburg)
    shared the group and never conflicted.
    """
    kinds = _kinds(lexicon)
    specific = {c for c in concepts if kinds[c] == "place" or c in _CITY_ENTITIES}
    return specific or {c for c in concepts if c.endswith("-cities")}


# The region's own states are entities in the alias table, not lexicon places.
_HOME_COUNTRIES = frozenset({"tajikistan", "russia", "uzbekistan", "kyrgyzstan", "kazakhstan"})


@lru_cache(maxsize=20_000)
def _countries(concepts: frozenset[str], lexicon: Lexicon) -> set[str]:
    """The states a headline names: who acts (Tajikistan and Qatar, or Uzbekistan and Korea)."""
    kinds = _kinds(lexicon)
    return {c for c in concepts if c in _HOME_COUNTRIES or kinds[c] == "place"}


def _each_lacks(a: AbstractSet[str], b: AbstractSet[str]) -> bool:
    """Each side names one the other does not: other actors, not one side saying less."""
    return bool(a - b and b - a)


def _disjoint(a: AbstractSet[str], b: AbstractSet[str]) -> bool:
    return bool(a and b and not a & b)


def _weighted_overlap(
    a: set[str] | frozenset[str], b: set[str] | frozenset[str], idf: Idf, prefix: str
) -> float:
    """Shared weight over the smaller side's: a report that names few people shares them all."""
    if a.isdisjoint(b):  # also when either is empty: nothing shared, whatever the weights
        return 0.0
    smaller = min(
        _kept(idf, a, prefix + "+", lambda: _weight_sum(a, idf, prefix)),
        _kept(idf, b, prefix + "+", lambda: _weight_sum(b, idf, prefix)),
    )
    return _weight_sum(a & b, idf, prefix) / smaller


def _anchored_concepts(
    a: set[str] | frozenset[str],
    b: set[str] | frozenset[str],
    headlines: frozenset[str],
    idf: Idf,
) -> float:
    """Weighted cosine of two bodies' concepts (keys as the idf knows them, ``"c:"``
    prefixed), counting only those a headline names.

    A body's background paragraphs and stray words (a city in a sports report,
    "flight" in an aircraft maker's news) give two unrelated reports a few
    shared concepts and, the sets being small, a high cosine; the concepts
    either headline names are what the reports are about. The intersections are
    new sets at each call, so nothing is kept for them in an ``IdfTable``.
    """
    a, b = a & headlines, b & headlines
    if not a or not b:
        return 0.0
    shared = sum(idf(k) ** 2 for k in a & b)
    if not shared:
        return 0.0
    norm_a = math.sqrt(sum(idf(k) ** 2 for k in a))
    norm_b = math.sqrt(sum(idf(k) ** 2 for k in b))
    return shared / (norm_a * norm_b)


def _linked(a: EventSignature, b: EventSignature) -> bool:
    return bool((a.url and a.url in b.links) or (b.url and b.url in a.links))


def _weighted_cosine(
    a: set[str] | frozenset[str], b: set[str] | frozenset[str], idf: Idf, prefix: str
) -> float:
    if a.isdisjoint(b):  # also when either is empty: nothing shared, whatever the weights
        return 0.0
    shared = sum(idf(prefix + k) ** 2 for k in a & b)
    norm_a = _kept(idf, a, prefix, lambda: math.sqrt(sum(idf(prefix + k) ** 2 for k in a)))
    norm_b = _kept(idf, b, prefix, lambda: math.sqrt(sum(idf(prefix + k) ** 2 for k in b)))
    return shared / (norm_a * norm_b)


def _weighted_jaccard(
    a: set[str] | frozenset[str], b: set[str] | frozenset[str], idf: Idf, prefix: str
) -> float:
    # Most compared pairs share no name: the union's weights need not be summed.
    if a.isdisjoint(b):
        return 0.0
    return _weight_sum(a & b, idf, prefix) / _weight_sum(a | b, idf, prefix)


def _weight_sum(keys: AbstractSet[str], idf: Idf, prefix: str) -> float:
    """The weights of ``keys`` summed, in the set's order (the same float as a sum over a
    generator): without a prefix, a ``map`` over the set, which a comparison of long
    lists of names spent most of its time doing as one call per key."""
    if not prefix:
        return sum(map(idf, keys))
    return sum([idf(prefix + k) for k in keys])


def _log_cosine(a: Mapping[str, float], b: Mapping[str, float], idf: Idf) -> float:
    """Cosine of two bags of words weighted by ``log1p(count)`` times idf (counts given
    already as ``log1p(count)``, worked out once per signature)."""
    if a.keys().isdisjoint(b):  # also when either is empty
        return 0.0
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    # Lists, not generators, summed: the same floats in the same order, a third cheaper.
    dot = sum(
        [weight * large[key] * idf(key) ** 2 for key, weight in small.items() if key in large]
    )
    if not dot:
        return 0.0
    norm_a = _kept(idf, a, "", lambda: _log_norm(a, idf))
    norm_b = _kept(idf, b, "", lambda: _log_norm(b, idf))
    return dot / (norm_a * norm_b)


def _log_norm(bag: Mapping[str, float], idf: Idf) -> float:
    return math.sqrt(sum([(w * x) ** 2 for w, x in zip(bag.values(), map(idf, bag), strict=True)]))


@dataclass(frozen=True)
class PairModel:
    """Logistic regression over ``FEATURES``; ``threshold`` is the join probability."""

    weights: tuple[float, ...]
    bias: float
    threshold: float
    means: tuple[float, ...]
    scales: tuple[float, ...]

    def probability(self, features: list[float]) -> float:
        z = self.bias + sum(
            w * (x - m) / s
            for w, x, m, s in zip(self.weights, features, self.means, self.scales, strict=True)
        )
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def to_json(self) -> dict[str, object]:
        return {
            "features": list(FEATURES),
            "weights": list(self.weights),
            "bias": self.bias,
            "threshold": self.threshold,
            "means": list(self.means),
            "scales": list(self.scales),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> PairModel:
        if list(data["features"]) != list(FEATURES):  # type: ignore[call-overload]
            raise ValueError("model.json was trained on other features; retrain it")
        return cls(
            weights=tuple(float(w) for w in data["weights"]),  # type: ignore[attr-defined]
            bias=float(data["bias"]),  # type: ignore[arg-type]
            threshold=float(data["threshold"]),  # type: ignore[arg-type]
            means=tuple(float(m) for m in data["means"]),  # type: ignore[attr-defined]
            scales=tuple(float(s) for s in data["scales"]),  # type: ignore[attr-defined]
        )


@lru_cache(maxsize=1)
def default_model() -> PairModel:
    return PairModel.from_json(json.loads(MODEL_FILE.read_text(encoding="utf-8")))
