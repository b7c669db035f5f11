"""Interface text decided in one place and shown in another, in the reader's language.

An error is raised (or a status chosen) long before anyone knows who will read
it: the CLI and the logs print it in English, a Russian page shows it in
Russian. A ``Translatable`` keeps the English message id and its values;
``str()`` is the English text, ``render(translations)`` the reader's.

The constructors are named like the gettext functions (``Translatable.gettext``,
``.ngettext``, ``.pgettext``) so ``make messages`` extracts their messages
without extra configuration.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol


class Translations(Protocol):
    """What a catalogue offers (``gettext.NullTranslations`` and its subclasses)."""

    def gettext(self, message: str, /) -> str: ...

    def ngettext(self, singular: str, plural: str, n: int, /) -> str: ...

    def pgettext(self, context: str, message: str, /) -> str: ...


def N_(message: str) -> str:
    """Marks a constant for extraction; it is translated where it is shown."""
    return message


@dataclass(frozen=True, slots=True)
class Translatable:
    """A message id, its values, and (for counts) its plural and (for short words) a context."""

    message: str
    params: Mapping[str, object] = field(default_factory=dict)
    plural: str | None = None
    count: int = 0
    context: str | None = None

    @classmethod
    def gettext(cls, message: str, /, **params: object) -> Translatable:
        return cls(message, params)

    @classmethod
    def ngettext(cls, singular: str, plural: str, count: int, /, **params: object) -> Translatable:
        """``%(num)s`` in either form is ``count``."""
        return cls(singular, {"num": count, **params}, plural, count)

    @classmethod
    def pgettext(cls, context: str, message: str, /, **params: object) -> Translatable:
        """A short word whose meaning ``context`` pins down ("failed" as a crawl's state)."""
        return cls(message, params, context=context)

    def render(self, translations: Translations | None = None) -> str:
        """The text in ``translations``' language; English (the message ids) without one."""
        if translations is None:
            template = self.message if self.plural is None or self.count == 1 else self.plural
        elif self.plural is not None:
            template = translations.ngettext(self.message, self.plural, self.count)
        elif self.context is not None:
            template = translations.pgettext(self.context, self.message)
        else:
            template = translations.gettext(self.message)
        if not self.params:
            return template
        values = {
            name: value.render(translations) if isinstance(value, Translatable) else value
            for name, value in self.params.items()
        }
        return template % values

    def __str__(self) -> str:
        return self.render()
