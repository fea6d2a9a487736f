"""Submission times: the format and day/month order are found for the file as a whole.

A file whose dates read equally well as day/month and month/day (every day 12 or less) is not
guessed: the registry must say which order the source uses.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import polars as pl

from pipelines.ingest.errors import UnreadableExport

ISO_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")


def date_order(fmt: str) -> str | None:
    day, month = fmt.find("%d"), fmt.find("%m")
    if day < 0 or month < 0 or fmt.startswith("%Y"):
        return None
    return "DMY" if day < month else "MDY"


@dataclass(frozen=True)
class SubmissionTimes:
    utc: pl.Series
    # Local times that fall in the hour skipped or repeated when the clocks change: kept (read
    # forward, or as the earlier of the two instants) and counted, never rejected.
    at_clock_change: int = 0


def parse_submitted_at(
    raw: pl.Series,
    formats: tuple[str, ...],
    declared_order: str | None,
    timezone: str,
    column: str,
) -> SubmissionTimes:
    """Parse to UTC. Values that fit no format become null (the row is then rejected).

    Messages name the column and the rule, never a value: a cell may hold anything."""
    values = raw.str.strip_chars()
    present = values.drop_nulls()
    present = present.filter(present != "")
    if present.is_empty():
        return SubmissionTimes(
            pl.Series(raw.name, [None] * len(raw), dtype=pl.Datetime("us", "UTC"))
        )

    candidates = []
    for fmt in (*formats, *ISO_FORMATS):
        parsed = values.str.strptime(pl.Datetime("us"), fmt, strict=False)
        parsed_count = parsed.drop_nulls().len()
        if parsed_count:
            candidates.append((parsed_count, fmt, parsed))
    if not candidates:
        raise UnreadableExport(
            f"No submission time in column {column} could be read: the values fit none of the "
            f"formats this survey tool writes ({', '.join(formats)})."
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
            raise UnreadableExport(
                f"The dates in column {column} read as both day/month and month/day (no day in "
                "the file is above 12). Add date_order: DMY or date_order: MDY to this export "
                "in data/sources.yml."
            )
    elif declared_order and orders and declared_order not in orders:
        raise UnreadableExport(
            f"The registry says dates are {declared_order}, but the dates in column {column} "
            f"only read as {orders.pop()}."
        )
    return to_utc(chosen[1], timezone)


def to_utc(local: pl.Series, timezone: str) -> SubmissionTimes:
    """Local wall-clock times to UTC. A time in the hour skipped in spring is read forward (as
    the clock would have shown it had it not changed: 01:30 becomes 02:30 summer time); a time
    in the hour repeated in autumn is read as the earlier instant."""
    earliest = local.dt.replace_time_zone(timezone, ambiguous="earliest", non_existent="null")
    latest = local.dt.replace_time_zone(timezone, ambiguous="latest", non_existent="null")
    skipped = earliest.is_null() & local.is_not_null()
    repeated = int((earliest != latest).sum())
    utc = earliest.dt.convert_time_zone("UTC")
    if skipped.any():
        # Rare (minutes a year): Python's zoneinfo reads a skipped time with the offset in force
        # before the change, which is exactly "forward".
        zone = ZoneInfo(timezone)
        forward = pl.Series(
            [
                value.replace(tzinfo=zone).astimezone(dt.UTC) if gap else None
                for value, gap in zip(local.to_list(), skipped.to_list(), strict=True)
            ],
            dtype=pl.Datetime("us", "UTC"),
        )
        utc = utc.zip_with(~skipped, forward)
    return SubmissionTimes(utc.alias(local.name), int(skipped.sum()) + repeated)
