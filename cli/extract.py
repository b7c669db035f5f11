"""``wirewatch extract FILE...``: run article extraction on saved pages.

For checking what the crawler will store from a page without crawling it:
all files are processed in one process, each printed as one JSON object
(``jsonl``, default), all of them as one JSON array (``json``), or readable
text (``text``). Files ending in ``.gz`` are decompressed. The exit code is 1
when any file failed, after every file has been tried.
"""

from __future__ import annotations

import gzip
import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from crawler.extraction import ExtractionResult, extract_article


class OutputFormat(StrEnum):
    jsonl = "jsonl"
    json = "json"
    text = "text"


def read_page(path: Path) -> bytes:
    """File bytes, decompressed when the name ends in .gz."""
    raw = path.read_bytes()
    return gzip.decompress(raw) if path.suffix == ".gz" else raw


def result_record(source: str, result: ExtractionResult) -> dict[str, Any]:
    record: dict[str, Any] = {"source": source}
    article = result.article
    record.update(
        title=article.title if article else None,
        body=article.body if article else None,
        published=article.published.isoformat() if article and article.published else None,
        authors=article.authors if article else [],
        language=article.language if article else None,
        canonical_url=article.canonical_url if article else None,
        method=article.method if article else None,
    )
    if not result.ok:
        record["error"] = result.error
    return record


def extract_file(path: Path, source: str, url: str | None) -> dict[str, Any]:
    try:
        html = read_page(path)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        return result_record(source, ExtractionResult.failure(f"cannot read {source}: {exc}"))
    return result_record(source, extract_article(html, url=url))


def _as_text(record: dict[str, Any]) -> str:
    if "error" in record:
        return f"== {record['source']}\nERROR: {record['error']}\n"
    head = [
        f"== {record['source']}",
        f"title:     {record['title']}",
        f"published: {record['published']}",
        f"authors:   {', '.join(record['authors'])}",
        f"language:  {record['language']}",
        f"canonical: {record['canonical_url']}",
        f"method:    {record['method']}",
        "",
        record["body"] or "",
    ]
    return "\n".join(head) + "\n"


def extract_command(
    files: Annotated[list[Path], typer.Argument(help="saved HTML pages (.html or .html.gz)")],
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="jsonl, json or text")
    ] = OutputFormat.jsonl,
    url: Annotated[
        str | None, typer.Option("--url", help="the page's URL, to resolve relative links")
    ] = None,
) -> None:
    """Extract article text and metadata from saved pages."""
    records = [extract_file(path, str(path), url) for path in files]
    if output_format is OutputFormat.json:
        typer.echo(json.dumps(records, ensure_ascii=False, indent=2))
    else:
        for record in records:
            if output_format is OutputFormat.jsonl:
                typer.echo(json.dumps(record, ensure_ascii=False))
            else:
                typer.echo(_as_text(record))
    failed = [r["source"] for r in records if "error" in r]
    if failed:
        typer.echo(f"{len(failed)} of {len(records)} file(s) failed", err=True)
        raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    app.command("extract")(extract_command)
