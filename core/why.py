"""The "why it matched" lines in the reader's language.

Matching stores each line in English (``alerts.matching``: the story's quoted
words, metadata in plain words, the model's verdict), long before anyone
reads it in a page or a digest. Only the interface words are translated when
a line is shown ("headline:", "written in", "from"); the story's own words,
quoted between “ and ”, and the values stay as they were.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from core.query.quotes import HEADLINE, LANGUAGE_NAMES, OPEN
from core.translatable import Translatable, Translations

# The line a topic's model adds for a story its query missed (alerts.relevance).
MODEL_WHY = "similar to stories marked relevant"
_MODEL_LINE = re.compile(re.escape(MODEL_WHY) + r" \(model (\d+\.\d+)\)")
_LANGUAGE_CODES = {name: code for code, name in LANGUAGE_NAMES.items()}
_METADATA = (
    ("written in ", Translatable.gettext("written in %(value)s")),
    ("from ", Translatable.gettext("from %(value)s")),
    ("published on ", Translatable.gettext("published on %(value)s")),
)


def model_line(probability: float) -> str:
    return f"{MODEL_WHY} (model {probability:.2f})"


def localized_why(
    line: str,
    translations: Translations,
    *,
    language_name: Callable[[str], str],
    number: Callable[[float], str],
) -> str:
    """``line`` with its interface words in ``translations``' language; others as they are.

    ``language_name`` names a language code, ``number`` writes the model's
    probability, both in the reader's language.
    """
    if OPEN in line:  # a quote of the story, perhaps labelled as its headline
        if line.startswith(HEADLINE):
            quote = line.removeprefix(HEADLINE)
            return Translatable.gettext("headline: %(quote)s", quote=quote).render(translations)
        return line
    model = _MODEL_LINE.fullmatch(line)
    if model:
        probability = number(float(model.group(1)))
        return Translatable.gettext(
            "similar to stories marked relevant (model %(probability)s)", probability=probability
        ).render(translations)
    for prefix, label in _METADATA:
        if line.startswith(prefix):
            value = line.removeprefix(prefix)
            if prefix == "written in " and value in _LANGUAGE_CODES:
                value = language_name(_LANGUAGE_CODES[value])
            return Translatable(label.message, {"value": value}).render(translations)
    return line
