"""The interface languages' codes, apart from ``core.i18n``'s catalogues and formatting.

The settings check ``WIREWATCH_DEFAULT_LOCALE`` against these in every process;
``core.i18n`` pulls in Babel and Jinja2 (about 0.1 s of start-up), which a
crawler process never uses, so the codes and their check live here.
"""

from __future__ import annotations

# The interface languages, in the order the language switcher lists them.
LOCALES = ("ru", "en")


class UnknownLocaleError(ValueError):
    """A language the interface has no catalogue for."""


def checked(code: str) -> str:
    """``code`` as stored ("ru", "en"), or UnknownLocaleError naming the choices."""
    normal = code.strip().lower().replace("_", "-")
    if normal not in LOCALES:
        raise UnknownLocaleError(
            f"language {code!r} is not one of {', '.join(LOCALES)}; "
            "see docs/languages.md to add one"
        )
    return normal
