"""Exports of any search as CSV, JSON Lines or Atom, streamed.

Rows are read in batches of a few hundred, each in its own short
transaction, and written out as they come, so a 100,000-row export holds one
batch in memory and never blocks the crawlers' writes for long.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Literal
from urllib.parse import urlencode
from xml.sax.saxutils import escape, quoteattr

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from wirewatch.archive import ExportRow, export_rows

from web.auth import Reader
from web.deps import FactoryDep, SettingsDep
from web.params import SearchFilters
from web.schemas import ERRORS

router = APIRouter(prefix="/api", tags=["exports"], responses=ERRORS)

MAX_EXPORT = 1_000_000
Format = Literal["csv", "jsonl", "atom"]
MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "jsonl": "application/x-ndjson; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
}
CSV_FIELDS = (
    "id",
    "published",
    "source",
    "language",
    "title",
    "url",
    "cluster_id",
    "event",
    "follows_event",
    "authors",
    "text",
)
UTF8_BOM = "\ufeff"
# Characters XML 1.0 does not allow at all; stored text may contain them.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# Spreadsheets run cells starting with these as formulas (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@router.get(
    "/stories.{fmt}",
    summary="Export a search (CSV, JSON Lines or Atom)",
    response_class=StreamingResponse,
    responses={200: {"content": {m.split(";")[0]: {} for m in MEDIA.values()}}},
)
def export(
    fmt: Format,
    request: Request,
    factory: FactoryDep,
    settings: SettingsDep,
    filters: SearchFilters,
    _: Reader,
    limit: Annotated[int, Query(ge=1, le=MAX_EXPORT, description="Most rows")] = MAX_EXPORT,
    bom: Annotated[
        bool,
        Query(
            description="CSV only: start with a UTF-8 byte order mark, without which Excel "
            "reads the file in the local code page and garbles Cyrillic (default off: "
            "other tools take the mark for part of the first column's name)"
        ),
    ] = False,
) -> StreamingResponse:
    """Every story matching the search, newest first (same parameters as /api/stories);
    each row names its event (``event``; an Atom category)."""
    rows = export_rows(factory, filters.request(), max_rows=limit)
    first = next(rows, None)  # a query that does not parse fails here, as a 422, not mid-stream
    stream = _chain(first, rows)
    if fmt == "csv":
        body = _csv(stream, bom=bom)
    elif fmt == "jsonl":
        body = _jsonl(stream)
    else:
        self_url = (
            f"{settings.base_url.rstrip('/')}/api/stories.atom?{urlencode(request.query_params)}"
        )
        body = _atom(stream, filters.q, self_url, settings.base_url.rstrip("/"))
    filename = f"wirewatch-stories.{fmt}"
    return StreamingResponse(
        body,
        media_type=MEDIA[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _chain(first: ExportRow | None, rest: Iterator[ExportRow]) -> Iterator[ExportRow]:
    if first is None:
        return
    yield first
    yield from rest


def _cell(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def _csv(rows: Iterator[ExportRow], *, bom: bool = False) -> Iterator[str]:
    buffer = io.StringIO()
    if bom:
        buffer.write(UTF8_BOM)
    writer = csv.writer(buffer)
    writer.writerow(CSV_FIELDS)
    for n, row in enumerate(rows, 1):
        writer.writerow(
            [
                row.id,
                row.published.isoformat(),
                _cell(row.source),
                row.language or "",
                _cell(row.title),
                _cell(row.url),
                row.cluster_id or "",
                row.event_id or "",
                row.follows_event or "",
                _cell("; ".join(row.authors)),
                _cell(row.text),
            ]
        )
        if n % 100 == 0:
            yield _drain(buffer)
    yield _drain(buffer)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def _jsonl(rows: Iterator[ExportRow]) -> Iterator[str]:
    for row in rows:
        record = {
            "id": row.id,
            "published": row.published.isoformat(),
            "fetched": row.fetched.isoformat(),
            "source": row.source,
            "language": row.language,
            "title": row.title,
            "url": row.url,
            "cluster_id": row.cluster_id,
            "event": row.event_id,
            "follows_event": row.follows_event,
            "authors": row.authors,
            "text": row.text,
        }
        yield json.dumps(record, ensure_ascii=False) + "\n"


def _xml(text: str) -> str:
    return escape(_XML_ILLEGAL.sub("", text))


def _atom(rows: Iterator[ExportRow], query: str, self_url: str, base: str) -> Iterator[str]:
    now = datetime.now(UTC).isoformat()
    title = f"wirewatch: {query}" if query else "wirewatch: latest stories"
    yield (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom">\n'
        f"<title>{_xml(title)}</title>\n"
        f"<id>{_xml(self_url)}</id>\n"
        f'<link rel="self" href={quoteattr(_XML_ILLEGAL.sub("", self_url))}/>\n'
        f"<updated>{now}</updated>\n"
    )
    for row in rows:
        link = (
            row.url if row.url.startswith(("http://", "https://")) else f"{base}/stories/{row.id}"
        )
        summary = row.text[:1000]
        yield (
            "<entry>\n"
            f"<id>{_xml(f'{base}/stories/{row.id}')}</id>\n"
            f"<title>{_xml(row.title)}</title>\n"
            f"<link href={quoteattr(_XML_ILLEGAL.sub('', link))}/>\n"
            f"<updated>{row.published.isoformat()}</updated>\n"
            f"<author><name>{_xml(row.source or 'unknown')}</name></author>\n"
            + _event_category(row, base)
            + f'<summary type="text">{_xml(summary)}</summary>\n'
            "</entry>\n"
        )
    yield "</feed>\n"


def _event_category(row: ExportRow, base: str) -> str:
    """The story's event as an Atom category: its id, in the scheme of /api/events/."""
    if row.event_id is None:
        return ""
    scheme = quoteattr(_XML_ILLEGAL.sub("", f"{base}/api/events/"))
    return f'<category scheme={scheme} term="{row.event_id}" label="event {row.event_id}"/>\n'
