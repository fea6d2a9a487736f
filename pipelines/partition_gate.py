"""Publication gate per organisation and wave: what was published is never lost by accident.

A partition (organisation, wave) that the current publication holds must still be there, with
at least a stated share of its responses, in the next one. It can vanish or shrink for good
reasons (an organisation withdrew a wave) and for bad ones (a registry edit quarantined every
file of an organisation, a crosswalk change refused a year's exports); only the registry can
tell them apart, so a partition leaves the marts only when the registry retires it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

Partition = tuple[str, int]


@dataclass(frozen=True)
class PartitionLoss:
    organisation_id: str
    wave: int
    published: int
    now: int

    def reason(self, min_share: float) -> str:
        where = f"Organisation {self.organisation_id}, wave {self.wave}"
        if self.now == 0:
            return (
                f"{where} was published with {self.published} responses and would disappear "
                "from the marts (its files are no longer read: quarantined, re-registered or "
                "removed). Fix the cause, or retire the wave in data/sources.yml."
            )
        return (
            f"{where} would shrink from {self.published} to {self.now} published responses, "
            f"below {min_share:.0%} of what was published. Fix the cause, or retire the wave "
            "in data/sources.yml."
        )


def responses_by_partition(source_files: list[dict]) -> dict[Partition, int]:
    """Accepted responses per (organisation, wave) from a manifest's source_files."""
    totals: dict[Partition, int] = defaultdict(int)
    for source in source_files:
        if source.get("organisation_id") is not None:
            key = (source["organisation_id"], int(source["wave"]))
            totals[key] += source.get("responses_accepted") or 0
    return dict(totals)


def partition_losses(
    published: dict[Partition, int],
    current: dict[Partition, int],
    retired: frozenset[Partition],
    min_share: float,
) -> list[PartitionLoss]:
    """Published partitions that would disappear or fall below `min_share` of their responses,
    unless retired."""
    losses = []
    for partition, count in sorted(published.items()):
        now = current.get(partition, 0)
        if count and partition not in retired and (now == 0 or now < min_share * count):
            losses.append(PartitionLoss(*partition, published=count, now=now))
    return losses
