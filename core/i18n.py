"""The interface languages: catalogues, choosing one, and dates and numbers for it.

Most readers on this beat read Russian first, so the web app and every email
come in Russian and English. Interface text is marked in the sources
(``_()``/``ngettext()`` in Python, ``{% trans %}``/``_()`` in templates) and
translated in ``core/locales/<code>/LC_MESSAGES/messages.po``; ``make messages``
refreshes the catalogues from the sources. Stored story text is never translated.

The ``.po`` files are the only form kept: each is compiled in memory the first
time a process needs it (a few milliseconds), so there is no binary ``.mo`` to
rebuild, commit or forget, and an installed wheel carries the same catalogues
a checkout does.
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale
from babel.core import negotiate_locale
from babel.dates import format_skeleton, format_time, get_datetime_format, get_day_names
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from jinja2 import Environment

from core import locale_codes
from core.why import localized_why

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
DOMAIN = "messages"
# The interface languages (in the order the language switcher lists them) and
# their check live in core.locale_codes, light enough for the settings to import.
LOCALES = locale_codes.LOCALES
UnknownLocaleError = locale_codes.UnknownLocaleError
checked = locale_codes.checked
# Each language's own name, as the switcher shows it.
NATIVE_NAMES = {"ru": "Русский", "en": "English"}
# The conventions dates and numbers follow: English pages keep the day-first,
# 24-hour style they always had ("28 Nov 2026, 11:05"), unambiguous on this beat.
FORMAT_LOCALES = {"ru": "ru", "en": "en_GB"}


def usable(code: str | None, default: str) -> str:
    """``code`` when the interface has it, else ``default``: stored rows outlive catalogues."""
    if code and code in LOCALES:
        return code
    return default


@cache
def translations(code: str) -> gettext.NullTranslations:
    """The compiled catalogue of ``code``; English falls back to the source text."""
    path = LOCALES_DIR / checked(code) / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as po:
        catalog = read_po(po, locale=code, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def gettext_for(code: str) -> Callable[[str], str]:
    return translations(code).gettext


def parse_accept_language(header: str | None) -> list[str]:
    """The languages an Accept-Language header asks for, most wanted first (q=0 dropped)."""
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip()
        if not tag or tag == "*":
            continue
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            weighted.append((-quality, index, tag))
    return [tag for _, _, tag in sorted(weighted)]


def negotiate(header: str | None, default: str) -> str:
    """The interface language for an Accept-Language header, else ``default``."""
    preferred = parse_accept_language(header)
    chosen = negotiate_locale(preferred, list(LOCALES), sep="-") if preferred else None
    return chosen.lower() if chosen else default


def _format_locale(code: str) -> str:
    return FORMAT_LOCALES.get(code, code)


def format_datetime(moment: datetime | None, code: str, *, tz: Any = UTC) -> str:
    """Day, month, year and time in ``tz`` in the language's own order and words.

    "28 Nov 2026, 11:05 +05", "28 нояб. 2026 г., 11:05 +05"; the zone is shown
    by its short name so a reader knows which clock the time is on.
    """
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(tz)
    fmt = _format_locale(code)
    date = format_skeleton("yMMMd", local, locale=fmt)
    time = format_time(local, "HH:mm", locale=fmt)
    pattern = str(get_datetime_format("medium", locale=fmt))
    joined = pattern.replace("{1}", date).replace("{0}", time)
    return f"{joined} {local.tzname() or ''}".strip()


def format_date(moment: date | None, code: str) -> str:
    """The day alone (a moment's day in UTC): "28 Nov 2026", "28 нояб. 2026 г."."""
    if moment is None:
        return ""
    if isinstance(moment, datetime) and moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return format_skeleton("yMMMd", moment, locale=_format_locale(code))


def format_number(value: float | None, code: str, *, decimals: int | None = None) -> str:
    """12,345 / 12 345; ``decimals`` fixes the digits after the point (1 → "3.5", "3,5")."""
    if value is None:
        return ""
    pattern = None if decimals is None else "#,##0." + "0" * decimals if decimals else "#,##0"
    return format_decimal(value, format=pattern, locale=_format_locale(code))


def language_name(language: str | None, code: str) -> str:
    """A story's language by name in the interface language ("Russian", "русский")."""
    tag = (language or "").lower()
    if not tag:
        return ""
    names = Locale.parse(_format_locale(code)).languages
    return str(names.get(tag, tag))


def weekday_names(code: str) -> list[str]:
    """Monday first, as the subscription forms number them (0 = Monday)."""
    names = get_day_names("wide", locale=_format_locale(code))
    return [str(names[day]) for day in range(7)]


def install(environment: Environment, code: str) -> Environment:
    """Make ``environment`` render in ``code``: gettext and the formatting filters.

    One environment per language (never swapped per render), so concurrent
    renders in different languages cannot see each other's catalogue.
    """
    environment.add_extension("jinja2.ext.i18n")
    environment.install_gettext_translations(translations(code), newstyle=True)  # type: ignore[attr-defined]
    environment.globals["locale"] = code
    environment.filters["datetime"] = lambda moment, tz=UTC: format_datetime(moment, code, tz=tz)
    environment.filters["date"] = lambda moment: format_date(moment, code)
    environment.filters["number"] = lambda value, decimals=None: format_number(
        value, code, decimals=decimals
    )
    environment.filters["language_name"] = lambda language: language_name(language, code)
    environment.filters["why"] = lambda line: localized_why(
        str(line),
        translations(code),
        language_name=lambda language: language_name(language, code),
        number=lambda value: format_number(value, code, decimals=2),
    )
    return environment


def locales(codes: Iterable[str] = LOCALES) -> list[tuple[str, str]]:
    """(code, native name) of each interface language, for a switcher or a form."""
    return [(code, NATIVE_NAMES.get(code, code)) for code in codes]
