"""The fixture site's manifest: which outlets exist and what each one published.

Tests and the demo check crawl results against it (how many stories a crawl must
store, which ones the default topic must match), so it is validated strictly on
load: a typo in the YAML fails loudly instead of shrinking what the tests check.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import yaml
from core.errors import ConfigError, NotFoundError
from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError

SITES_ROOT = Path(__file__).resolve().parent / "sites"
MANIFEST_NAME = "manifest.yaml"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Story(_Frozen):
    """One published article; ``outlet`` is filled in from the enclosing outlet."""

    outlet: str = ""
    path: str
    file: str
    title: str
    published: AwareDatetime
    on_beat: bool
    event: str | None
    syndicated_from: str | None
    canonical: bool
    json_ld: bool

    @property
    def key(self) -> str:
        """``<outlet-slug>/<path>``: the form ``syndicated_from`` uses."""
        return f"{self.outlet}/{self.path}"

    def url(self, site_url: str) -> str:
        """The story's address on a running server whose root is ``site_url``."""
        return f"{site_url.rstrip('/')}/{self.key}"


class Outlet(_Frozen):
    slug: str
    name: str
    language: str
    timezone: str
    encoding: str
    feed_path: str
    feed_format: Literal["rss", "atom"]
    feed_content_type: str
    feed_full_text: bool
    # Tracking parameters the feed appends to every article link (the page's
    # rel=canonical omits them), or None when feed links are clean.
    feed_link_query: str | None
    stories: tuple[Story, ...]

    def base_url(self, site_url: str) -> str:
        return f"{site_url.rstrip('/')}/{self.slug}"

    def feed_url(self, site_url: str) -> str:
        return f"{self.base_url(site_url)}/{self.feed_path}"

    def feed_link(self, story: Story, site_url: str) -> str:
        """The link to ``story`` exactly as this outlet's feed writes it."""
        url = story.url(site_url)
        if not self.feed_link_query:
            return url
        return f"{url}{'&' if '?' in url else '?'}{self.feed_link_query}"


class Manifest(_Frozen):
    root: Path
    outlets: tuple[Outlet, ...]

    def outlet(self, slug: str) -> Outlet:
        for outlet in self.outlets:
            if outlet.slug == slug:
                return outlet
        known = ", ".join(o.slug for o in self.outlets)
        raise NotFoundError(f"no outlet {slug!r} in the fixture site (known: {known})")

    def stories(self) -> Iterator[Story]:
        for outlet in self.outlets:
            yield from outlet.stories

    def story(self, key: str) -> Story:
        for story in self.stories():
            if story.key == key:
                return story
        raise NotFoundError(f"no story {key!r} in the fixture site manifest")

    def on_beat(self) -> list[Story]:
        return [story for story in self.stories() if story.on_beat]

    def file_of(self, story: Story) -> Path:
        return self.root / story.outlet / story.file


def load_manifest(root: Path | None = None) -> Manifest:
    """Read and check ``manifest.yaml`` under ``root`` (the packaged sites by default)."""
    root = (root or SITES_ROOT).resolve()
    path = root / MANIFEST_NAME
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"fixture site manifest {path} cannot be read: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"fixture site manifest {path} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("outlets"), list):
        raise ConfigError(f"fixture site manifest {path} needs a top-level 'outlets' list")
    for outlet in raw["outlets"]:
        if isinstance(outlet, dict):
            for story in outlet.get("stories") or []:
                if isinstance(story, dict):
                    story.setdefault("outlet", outlet.get("slug", ""))
    try:
        manifest = Manifest(root=root, outlets=raw["outlets"])
    except ValidationError as exc:
        raise ConfigError(f"fixture site manifest {path} is invalid:\n{exc}") from exc
    _check_consistency(manifest, path)
    return manifest


def _check_consistency(manifest: Manifest, path: Path) -> None:
    problems: list[str] = []
    slugs = [o.slug for o in manifest.outlets]
    if len(set(slugs)) != len(slugs):
        problems.append(f"duplicate outlet slugs in {slugs}")
    keys = [s.key for s in manifest.stories()]
    if len(set(keys)) != len(keys):
        problems.append("duplicate story paths")
    for outlet in manifest.outlets:
        if not (manifest.root / outlet.slug / outlet.feed_path).is_file():
            problems.append(f"{outlet.slug}: feed file {outlet.feed_path} is missing")
    for story in manifest.stories():
        if not manifest.file_of(story).is_file():
            problems.append(f"{story.key}: file {story.file} is missing")
        if story.syndicated_from is not None and story.syndicated_from not in keys:
            problems.append(f"{story.key}: syndicated_from {story.syndicated_from!r} is unknown")
    if problems:
        raise ConfigError(f"fixture site manifest {path}: " + "; ".join(problems))
