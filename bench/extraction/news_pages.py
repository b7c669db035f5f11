"""Title, date, author and body agreement on real ru/en news pages with known answers.

Run: ``.venv/bin/python -m bench.extraction.news_pages [--verbose]``

Metadata is scored against tests/data/news_metadata.json: hand-checked title,
published time (with its offset), authors, language and canonical URL of all
28 pages, read from each page (:func:`score_metadata`). The upstream
expectations below are other tools' output and are reported beside it.

Reads shared/corpora/news/pages: fundus ``*.expected.json`` (title, authors,
publishing date, body paragraphs), Mozilla Readability ``expected-metadata.json``
+ ``expected.html``, newspaper4k's ``.json``/``.txt`` and the tgcontest annotator
JSON. Pages without expectations are still extracted, to show they do not fail.
"""

from __future__ import annotations

import argparse
import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import lxml.html
import trafilatura

from bench.extraction.corpus import ROOT
from bench.extraction.metric import score_page
from crawler.extraction import Article, extract_article
from crawler.extraction.text import normalized

PAGES = ROOT.parent / "shared" / "corpora" / "news" / "pages"
TRUTH = ROOT / "tests" / "data" / "news_metadata.json"
FIELDS = ("title", "published", "authors", "language", "canonical_url")


@dataclass(frozen=True)
class Expected:
    title: str | None = None
    published: datetime | None = None
    date_only: bool = False
    authors: tuple[str, ...] = ()
    body: str | None = None


@dataclass(frozen=True)
class Case:
    name: str
    html: bytes
    url: str | None
    expected: Expected | None


def _date(value: str | float | None) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, UTC)
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _fundus(path: Path) -> Case:
    data = json.loads(path.read_text(encoding="utf-8"))
    exp = data["expected"]
    body = exp.get("body", {})
    parts = list(body.get("summary", []))
    for section in body.get("sections", []):
        parts += section.get("headline", []) + section.get("paragraphs", [])
    html_path = path.with_name(data["source_file"])
    return Case(
        str(path.relative_to(PAGES)),
        gzip.decompress(html_path.read_bytes()),
        data.get("url"),
        Expected(
            title=exp.get("title"),
            published=_date(exp.get("publishing_date")),
            authors=tuple(exp.get("authors") or ()),
            body="\n\n".join(parts),
        ),
    )


def _readability(folder: Path) -> Case:
    meta = json.loads((folder / "expected-metadata.json").read_text(encoding="utf-8"))
    expected_html = (folder / "expected.html").read_text(encoding="utf-8")
    body = lxml.html.fromstring(expected_html).text_content()
    return Case(
        str(folder.relative_to(PAGES)),
        (folder / "source.html").read_bytes(),
        None,
        Expected(title=meta.get("title"), published=_date(meta.get("publishedTime")), body=body),
    )


def _newspaper(json_path: Path) -> Case:
    meta = json.loads(json_path.read_text(encoding="utf-8"))
    return Case(
        str(json_path.relative_to(PAGES)),
        json_path.with_suffix(".html").read_bytes(),
        meta.get("url"),
        Expected(
            title=meta.get("title"),
            published=_date(meta.get("publish_date")),
            date_only=True,
            authors=tuple(meta.get("authors") or ()),
            body=json_path.with_suffix(".txt").read_text(encoding="utf-8"),
        ),
    )


def _tgcontest(json_path: Path) -> Case:
    meta = json.loads(json_path.read_text(encoding="utf-8"))
    html_path = json_path.with_name(json_path.name.replace(".expected.json", ".html"))
    return Case(
        str(json_path.relative_to(PAGES)),
        html_path.read_bytes(),
        meta.get("url"),
        Expected(
            title=meta.get("title"), published=_date(meta.get("timestamp")), body=meta["text"]
        ),
    )


def load_cases(root: Path = PAGES) -> Iterator[Case]:
    if not root.exists():
        raise FileNotFoundError(f"news pages corpus not found: {root}")
    for path in sorted(root.glob("fundus/*/*.expected.json")):
        yield _fundus(path)
    for folder in sorted(p.parent for p in root.glob("readability/*/source.html")):
        yield _readability(folder)
    for path in sorted(root.glob("newspaper4k/*.json")):
        yield _newspaper(path)
    for path in sorted(root.glob("tgcontest/*.expected.json")):
        yield _tgcontest(path)
    for pattern in ("postlight/*.html", "trafilatura/*.html", "ukeeper/*.html"):
        for path in sorted(root.glob(pattern)):
            yield Case(str(path.relative_to(PAGES)), path.read_bytes(), None, None)


def date_agreement(expected: Expected, got: datetime | None) -> str:
    if expected.published is None:
        return "n/a"
    if got is None:
        return "missing"
    if expected.date_only:
        return "day" if got.date() == expected.published.date() else "wrong"
    seconds = abs((got - expected.published).total_seconds())
    if seconds <= 60:
        return "exact"
    if got.astimezone(expected.published.tzinfo).date() == expected.published.date():
        return "day"
    return "wrong"


def title_agreement(expected: Expected, article: Article) -> str:
    if not expected.title:
        return "n/a"
    want, got = normalized(expected.title), normalized(article.title or "")
    if want == got:
        return "exact"
    return "partial" if want and (want in got or got in want) else "wrong"


def author_agreement(expected: Expected, article: Article) -> str:
    if not expected.authors:
        return "n/a"
    want = {normalized(a) for a in expected.authors}
    got = {normalized(a) for a in article.authors}
    return f"{len(want & got)}/{len(want)}" + (f" +{len(got - want)}" if got - want else "")


@dataclass(frozen=True)
class MetaTruth:
    page: str
    title: str
    published: datetime | None
    day_only: bool
    authors: tuple[str, ...]
    language: str
    canonical_url: str | None


def load_truth(path: Path = TRUTH) -> list[MetaTruth]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return [
        MetaTruth(
            page=row["page"],
            title=row["title"],
            published=datetime.fromisoformat(row["published"]) if row["published"] else None,
            day_only=bool(row.get("day_only")),
            authors=tuple(row["authors"]),
            language=row["language"],
            canonical_url=row["canonical_url"],
        )
        for row in data["pages"]
    ]


def page_input(root: Path, name: str) -> tuple[bytes, str | None]:
    """The page's bytes and the address it was fetched from, when the corpus records it."""
    path = root / name
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    for sidecar in (
        path.with_name(path.name.replace(".html.gz", ".expected.json")),
        path.with_name(path.name.replace(".html", ".expected.json")),
        path.with_suffix(".json"),
    ):
        if sidecar != path and sidecar.exists():
            return raw, json.loads(sidecar.read_text(encoding="utf-8")).get("url")
    return raw, None


def metadata_verdicts(truth: MetaTruth, article: Article | None) -> dict[str, str]:
    """Per field: "ok", "day" (published: right day, wrong time), "partial", "wrong", "missing"."""
    if article is None:
        return dict.fromkeys(FIELDS, "missing")
    verdicts: dict[str, str] = {}
    want, got = normalized(truth.title), normalized(article.title or "")
    verdicts["title"] = "ok" if want == got else "partial" if got and want in got else "wrong"
    verdicts["published"] = _published_verdict(truth, article.published)
    want_authors = {normalized(a) for a in truth.authors}
    got_authors = {normalized(a) for a in article.authors}
    verdicts["authors"] = (
        "ok"
        if want_authors == got_authors
        else "partial"
        if want_authors & got_authors
        else "wrong"
    )
    verdicts["language"] = "ok" if article.language == truth.language else "wrong"
    verdicts["canonical_url"] = "ok" if article.canonical_url == truth.canonical_url else "wrong"
    return verdicts


def _published_verdict(truth: MetaTruth, got: datetime | None) -> str:
    if truth.published is None:
        return "ok" if got is None else "wrong"
    if got is None:
        return "missing"
    if truth.day_only:
        return "ok" if got.date() == truth.published.date() else "wrong"
    if abs((got - truth.published).total_seconds()) <= 60:
        return "ok"
    same_day = got.astimezone(truth.published.tzinfo).date() == truth.published.date()
    return "day" if same_day else "wrong"


def score_metadata(
    root: Path = PAGES, truth_path: Path = TRUTH
) -> list[tuple[MetaTruth, Article | None, dict[str, str]]]:
    """Every truth page extracted and judged field by field."""
    rows = []
    for truth in load_truth(truth_path):
        html, url = page_input(root, truth.page)
        result = extract_article(html, url=url)
        rows.append((truth, result.article, metadata_verdicts(truth, result.article)))
    return rows


def metadata_counts(rows: list[tuple[MetaTruth, Article | None, dict[str, str]]]) -> dict[str, int]:
    """Pages whose field is right ("ok"), per field."""
    return {f: sum(1 for _, _, v in rows if v[f] == "ok") for f in FIELDS}


def print_metadata(verbose: bool) -> None:
    rows = score_metadata()
    print(f"\n{'page (hand-checked metadata)':<52} " + " ".join(f"{f[:9]:<9}" for f in FIELDS))
    for truth, article, verdicts in rows:
        print(f"{truth.page[:52]:<52} " + " ".join(f"{verdicts[f]:<9}" for f in FIELDS))
        wrong = [f for f in FIELDS if verdicts[f] != "ok"]
        if verbose and article is not None and wrong:
            for f in wrong:
                print(f"    {f}: got {getattr(article, f)!r}, want {getattr(truth, f)!r}")
    counts = metadata_counts(rows)
    print(
        f"hand-checked metadata, {len(rows)} pages right: "
        + ", ".join(f"{f} {n}/{len(rows)}" for f, n in counts.items())
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="print what was extracted")
    args = parser.parse_args(argv)
    counts: dict[str, dict[str, int]] = {"title": {}, "date": {}}
    f1s: list[float] = []
    baseline_f1s: list[float] = []
    print(
        f"{'page':<52} {'ok':<3} {'lang':<4} {'title':<8} {'date':<8} {'authors':<8}"
        " body P/R/F1 (trafilatura F1)"
    )
    for case in load_cases():
        result = extract_article(case.html, url=case.url)
        if not result.ok or result.article is None:
            print(f"{case.name:<52} NO  {result.error}")
            continue
        art = result.article
        if case.expected is None:
            print(f"{case.name:<52} yes {art.language or '-':<4} {'-':<8} {'-':<8} {'-':<8} -")
        else:
            exp = case.expected
            title, date = title_agreement(exp, art), date_agreement(exp, art.published)
            counts["title"][title] = counts["title"].get(title, 0) + 1
            counts["date"][date] = counts["date"].get(date, 0) + 1
            body = "-"
            if exp.body:
                s = score_page(exp.body, art.body)
                base = score_page(exp.body, trafilatura.extract(case.html) or "")
                f1s.append(s.f1)
                baseline_f1s.append(base.f1)
                body = f"{s.precision:.2f}/{s.recall:.2f}/{s.f1:.2f} ({base.f1:.2f})"
            authors = author_agreement(exp, art)
            print(
                f"{case.name:<52} yes {art.language or '-':<4} {title:<8} {date:<8} {authors:<8} {body}"
            )
        if args.verbose:
            print(f"    title={art.title!r} published={art.published} method={art.method}")
            print(f"    authors={art.authors} site={art.site_name!r} canonical={art.canonical_url}")
    print(f"titles: {counts['title']}  dates: {counts['date']}")
    if f1s:
        print(
            f"body F1 mean over {len(f1s)} pages with expected text: {sum(f1s) / len(f1s):.3f}"
            f" (plain trafilatura: {sum(baseline_f1s) / len(baseline_f1s):.3f})"
        )
    print_metadata(args.verbose)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
