"""Same URL, changed text: is it a new version worth telling subscribers about?

Outlets touch published stories constantly: a typo fixed, a space removed,
quotes changed. A new version is stored (and may be re-sent) only when the
report itself changed: a sentence added or removed, words replaced, a figure
updated ("11 dead" → "12 dead"), a different headline.
"""

from __future__ import annotations

from difflib import SequenceMatcher

from crawler.dedup.text import tokens

# A replaced word this close to the old one is a spelling fix, not new information.
TYPO_SIMILARITY = 0.75
# More changed words than this (outside typo fixes) make the change substantive.
MAX_TRIVIAL_WORDS = 2


def is_substantive_change(old_title: str, old_body: str, new_title: str, new_body: str) -> bool:
    """True when the new text says something the old one did not (or no longer says)."""
    return _changed_words(tokens(old_title), tokens(new_title)) + _changed_words(
        tokens(old_body), tokens(new_body)
    ) > MAX_TRIVIAL_WORDS or _figures_changed(old_title, old_body, new_title, new_body)


def _changed_words(old: list[str], new: list[str]) -> int:
    if old == new:
        return 0
    matcher = SequenceMatcher(a=old, b=new, autojunk=False)
    changed = 0
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        if tag == "replace" and i2 - i1 == j2 - j1:
            changed += sum(
                1 for a, b in zip(old[i1:i2], new[j1:j2], strict=True) if not _is_typo(a, b)
            )
        else:
            changed += max(i2 - i1, j2 - j1)
    return changed


def _is_typo(old: str, new: str) -> bool:
    if any(ch.isdigit() for ch in old + new):
        return False
    return SequenceMatcher(a=old, b=new).ratio() >= TYPO_SIMILARITY


def _figures_changed(old_title: str, old_body: str, new_title: str, new_body: str) -> bool:
    def figures(title: str, body: str) -> list[str]:
        return [t for t in tokens(title) + tokens(body) if any(ch.isdigit() for ch in t)]

    return sorted(figures(old_title, old_body)) != sorted(figures(new_title, new_body))
