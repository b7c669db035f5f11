"""Stories from a JSON Lines file, checked line by line with messages that name the line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crawler.dedup.offline import InputStory


class StoryFormatError(ValueError):
    """One JSON line does not describe a story (message without the line number)."""


class InputLineError(ValueError):
    """A line of the input file is not a usable story."""

    def __init__(self, path: Path, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path = path
        self.line = line
        self.reason = message


def read_stories(path: Path) -> Iterator[InputStory]:
    """Stories in file order; blank lines are skipped, anything else wrong raises."""
    seen: dict[Any, int] = {}
    with path.open(encoding="utf-8") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                story = parse_story(raw)
            except StoryFormatError as exc:
                raise InputLineError(path, number, str(exc)) from exc
            key = (type(story.id).__name__, story.id)
            if key in seen:
                raise InputLineError(
                    path, number, f"duplicate id {story.id!r} (first on line {seen[key]})"
                )
            seen[key] = number
    yield from _parsed(path)


def _parsed(path: Path) -> Iterator[InputStory]:
    """Second pass, after the whole file was checked: nothing is printed for a bad file."""
    with path.open(encoding="utf-8") as handle:
        for raw in handle:
            if raw.strip():
                yield parse_story(raw)


def parse_story(raw: str) -> InputStory:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise StoryFormatError(f"not valid JSON ({exc.msg} at column {exc.colno})") from exc
    if not isinstance(data, dict):
        raise StoryFormatError(f"expected a JSON object, got {type(data).__name__}")
    story_id = data.get("id")
    if isinstance(story_id, bool) or not isinstance(story_id, str | int):
        raise StoryFormatError('"id" is required and must be a string or an integer')
    if not isinstance(data.get("text"), str):
        raise StoryFormatError('"text" is required and must be a string')
    return InputStory(
        id=story_id,
        title=_optional_text(data, "title") or "",
        text=data["text"],
        url=_optional_text(data, "url"),
        source=_optional_text(data, "source"),
        published=_published(data.get("published")),
        language=_optional_text(data, "language"),
        links=_links(data.get("links")),
    )


def _links(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(link, str) for link in value):
        raise StoryFormatError('"links" must be a list of URL strings')
    return tuple(value)


def _optional_text(data: dict[str, Any], field: str) -> str | None:
    value = data.get(field)
    if value is None or isinstance(value, str):
        return value
    raise StoryFormatError(f'"{field}" must be a string, got {type(value).__name__}')


def _published(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise StoryFormatError(
            f'"published" must be an ISO 8601 string, got {type(value).__name__}'
        )
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise StoryFormatError(f'"published" is not an ISO 8601 date: {value!r}') from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
