"""Submission times: the format and day/month order are found for the file as a whole.

A file whose dates read equally well as day/month and month/day (every day 12 or less) is not
guessed: the registry must say which order the source uses.
"""

from __future__ import annotations

import polars as pl

from pipelines.ingest.errors import UnreadableExport

ISO_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")


def date_order(fmt: str) -> str | None:
    day, month = fmt.find("%d"), fmt.find("%m")
    if day < 0 or month < 0 or fmt.startswith("%Y"):
        return None
    return "DMY" if day < month else "MDY"


def parse_submitted_at(
    raw: pl.Series, formats: tuple[str, ...], declared_order: str | None, timezone: str
) -> pl.Series:
    """Parse to UTC. Values that fit no format become null (the row is then rejected)."""
    values = raw.str.strip_chars()
    present = values.drop_nulls()
    present = present.filter(present != "")
    if present.is_empty():
        return pl.Series(raw.name, [None] * len(raw), dtype=pl.Datetime("us", "UTC"))

    candidates = []
    for fmt in (*formats, *ISO_FORMATS):
        parsed = values.str.strptime(pl.Datetime("us"), fmt, strict=False)
        parsed_count = parsed.drop_nulls().len()
        if parsed_count:
            candidates.append((parsed_count, fmt, parsed))
    if not candidates:
        raise UnreadableExport(
            f"No submission time could be read; the values look like {present[0]!r}, and the "
            f"tool is expected to write {', '.join(formats)}."
        )
    best = max(count for count, _, _ in candidates)
    fitting = [(fmt, parsed) for count, fmt, parsed in candidates if count == best]
    orders = {date_order(fmt) for fmt, _ in fitting} - {None}
    chosen = fitting[0]
    if len(orders) > 1:
        by_order = {date_order(fmt): (fmt, parsed) for fmt, parsed in fitting}
        if declared_order in by_order:
            chosen = by_order[declared_order]
        elif not by_order["DMY"][1].equals(by_order["MDY"][1]):
            example = present[0]
            raise UnreadableExport(
                f"Dates such as {example!r} read as both day/month and month/day (no day in the "
                "file is above 12). Add date_order: DMY or date_order: MDY to this export in "
                "data/sources.yml."
            )
    elif declared_order and orders and declared_order not in orders:
        raise UnreadableExport(
            f"The registry says dates are {declared_order}, but values such as {present[0]!r} "
            f"only read as {orders.pop()}."
        )
    parsed = chosen[1]
    return (
        parsed.dt.replace_time_zone(timezone, ambiguous="earliest", non_existent="null")
        .dt.convert_time_zone("UTC")
        .alias(raw.name)
    )
