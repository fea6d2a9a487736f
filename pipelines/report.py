"""One HTML page per organisation that a co-production lead opens without any tools.

Built only from the published (suppressed) marts, so it can never show more than they do.
Charts are inline SVG drawn here: no JavaScript, no CDN, they render offline. For every measure
a figure holds one small panel per breakdown (all respondents, each roll-up, each service), and
each panel shows the measure across waves: the estimate with its 95% interval, the baseline
marked, significant changes from baseline highlighted, withheld cells shown as withheld and
waves whose wording is not comparable with the baseline drawn hollow.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from html import escape
from pathlib import Path

import polars as pl

WIDTH, HEIGHT = 230, 150
LEFT, RIGHT, TOP, BOTTOM = 30, 28, 22, 26
FAMILY_ORDER = [
    "awareness",
    "understanding",
    "involvement",
    "attitude",
    "practice",
    "barrier",
    "theme",
]
STYLE = """
body { font-family: system-ui, -apple-system, Segoe UI, Roboto, sans-serif; margin: 2rem;
       color: #1b1b1b; max-width: 1200px; }
h1 { margin-bottom: .2rem; } h2 { border-bottom: 2px solid #ddd; padding-bottom: .2rem; }
.key { color: #444; font-size: .95rem; line-height: 1.5; }
figure.measure { margin: 1.5rem 0; } figcaption { font-weight: 600; margin-bottom: .4rem; }
.panels { display: flex; flex-wrap: wrap; gap: .5rem; }
svg { background: #fafafa; border: 1px solid #e5e5e5; }
.grid { stroke: #e0e0e0; } .axis { font-size: 9px; fill: #666; }
.panel-title { font-size: 10px; font-weight: 600; fill: #333; }
.ci { stroke: #4a6fa5; stroke-width: 1.5; } .trend { stroke: #4a6fa5; fill: none; }
.point { fill: #4a6fa5; } .point.significant { fill: #d9480f; }
.point.not-comparable { fill: #fff; stroke: #4a6fa5; stroke-width: 1.5; }
.baseline { stroke: #999; stroke-dasharray: 3 3; } .baseline-label { font-size: 8px; fill: #777; }
.suppressed { font-size: 8px; fill: #999; font-style: italic; }
"""


def _panels(measures: pl.DataFrame) -> list[tuple[str, str, str, str]]:
    """(breakdown, service_id, group_id, title) for every panel the organisation has."""
    panels = [
        ("organisation", "ALL", "all", "All respondents"),
        ("organisation_rollup", "ALL", "workforce", "Workforce"),
        ("organisation_rollup", "ALL", "lived_experience", "Lived experience"),
    ]
    services = (
        measures.filter(pl.col("breakdown") == "service")
        .select("service_id", "service_name")
        .unique()
        .sort("service_name")
    )
    panels += [("service", s, "all", name) for s, name in services.iter_rows()]
    return panels


def _chart(title: str, waves: list[int], baseline: int, cells: dict[int, dict]) -> str:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(1, len(waves) - 1) if len(waves) > 1 else 0
    x = {w: LEFT + (i * step if len(waves) > 1 else plot_w / 2) for i, w in enumerate(waves)}

    def y(pct: float) -> float:
        return TOP + plot_h * (1 - pct / 100)

    parts = [
        f'<svg class="panel" width="{WIDTH}" height="{HEIGHT}" role="img" '
        f'aria-label="{escape(title)}">',
        f'<text class="panel-title" x="{LEFT}" y="12">{escape(title)}</text>',
    ]
    for level in (0, 50, 100):
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(level):.1f}" '
            f'y2="{y(level):.1f}"/><text class="axis" x="{LEFT - 4}" '
            f'y="{y(level) + 3:.1f}" text-anchor="end">{level}</text>'
        )
    if baseline in x:
        parts.append(
            f'<line class="baseline" x1="{x[baseline]:.1f}" x2="{x[baseline]:.1f}" '
            f'y1="{TOP}" y2="{TOP + plot_h}"/><text class="baseline-label" '
            f'x="{x[baseline] + 2:.1f}" y="{TOP + 8}">baseline</text>'
        )
    trend = []
    for wave in waves:
        parts.append(
            f'<text class="axis" x="{x[wave]:.1f}" y="{HEIGHT - 10}" '
            f'text-anchor="middle">{wave}</text>'
        )
        cell = cells.get(wave)
        if cell is None:
            continue
        if cell["suppressed"]:
            parts.append(
                f'<text class="suppressed" x="{x[wave]:.1f}" y="{TOP + plot_h - 4}" '
                f'text-anchor="middle"><title>{wave}: withheld '
                f"({escape(cell['suppression_reason'] or '')})</title>suppressed</text>"
            )
            trend.append(None)
            continue
        classes = ["point"]
        note = ""
        if cell.get("significant_vs_baseline"):
            classes.append("significant")
        if cell.get("comparable_with_baseline") is False:
            classes.append("not-comparable")
            note = "; wording changed, not comparable with baseline"
        if cell.get("change_pp_from_baseline") is not None:
            note += f"; {cell['change_pp_from_baseline']:+.1f} points from baseline"
            if cell.get("p_value_vs_baseline") is not None:  # null when no variance (0% or 100%)
                p_value = cell["p_value_vs_baseline"]  # unrounded in the mart: rounded here
                note += ", p < 0.0001" if p_value < 0.0001 else f", p = {p_value:.4f}"
        tip = (
            f"{wave}: {cell['pct']:.1f}% ({cell['ci_low']:.1f} to {cell['ci_high']:.1f}), "
            f"n = {cell['n']}{note}"
        )
        parts.append(
            f'<line class="ci" x1="{x[wave]:.1f}" x2="{x[wave]:.1f}" '
            f'y1="{y(cell["ci_low"]):.1f}" y2="{y(cell["ci_high"]):.1f}"/>'
        )
        parts.append(
            f'<circle class="{" ".join(classes)}" cx="{x[wave]:.1f}" '
            f'cy="{y(cell["pct"]):.1f}" r="3.5"><title>{escape(tip)}</title></circle>'
        )
        trend.append(None if "not-comparable" in classes else (x[wave], y(cell["pct"])))
    segment: list[tuple[float, float]] = []
    for point in [*trend, None]:  # join consecutive comparable, published points
        if point is None:
            if len(segment) > 1:
                coords = " ".join(f"{a:.1f},{b:.1f}" for a, b in segment)
                parts.append(f'<polyline class="trend" points="{coords}"/>')
            segment = []
        else:
            segment.append(point)
    parts.append("</svg>")
    return "".join(parts)


def build_report(measures: pl.DataFrame, changes: pl.DataFrame, organisation_id: str) -> str:
    measures = measures.filter(pl.col("organisation_id") == organisation_id)
    changes = changes.filter(pl.col("organisation_id") == organisation_id)
    if measures.is_empty():
        raise KeyError(organisation_id)
    keys = ["breakdown", "service_id", "group_id", "measure_id", "wave"]
    cells = measures.join(
        changes.select(
            *keys,
            "change_pp_from_baseline",
            "p_value_vs_baseline",
            "significant_vs_baseline",
            "comparable_with_baseline",
        ),
        on=keys,
        how="left",
    )
    name = measures["organisation_name"][0]
    waves = sorted(measures["wave"].unique().to_list())
    baseline = measures.filter(pl.col("is_baseline"))["wave"].unique().to_list()
    baseline_wave = baseline[0] if baseline else waves[0]
    panels = _panels(measures)
    by_cell = {
        (r["measure_id"], r["breakdown"], r["service_id"], r["group_id"], r["wave"]): r
        for r in cells.iter_rows(named=True)
    }
    catalogue = measures.select("measure_id", "measure_label", "measure_family").unique()
    order = {family: i for i, family in enumerate(FAMILY_ORDER)}
    catalogue = catalogue.with_columns(
        pl.col("measure_family").replace_strict(order, default=len(order)).alias("family_rank")
    ).sort("family_rank", "measure_label")

    body = [
        f"<h1>{escape(name)}</h1>",
        f'<p class="key">Co-production measures by survey wave ({", ".join(map(str, waves))}; '
        f"baseline {baseline_wave}). Each point is a percentage with its 95% interval. "
        "<b style='color:#d9480f'>Orange</b> points changed significantly from the baseline "
        "(two-proportion z-test, 5%). Hollow points asked a reworded question that is not "
        "comparable with the baseline. <i>suppressed</i>: fewer than 10 answers, or withheld "
        "so that a small group cannot be worked out. Hover a point for its figures.</p>",
    ]
    current_family = None
    for measure_id, label, family, _ in catalogue.iter_rows():
        if family != current_family:
            body.append(f"<h2>{escape(family.capitalize())}</h2>")
            current_family = family
        charts = []
        for breakdown, service, group, title in panels:
            panel_cells = {
                w: by_cell[key]
                for w in waves
                if (key := (measure_id, breakdown, service, group, w)) in by_cell
            }
            if panel_cells:
                charts.append(_chart(title, waves, baseline_wave, panel_cells))
        body.append(
            f'<figure class="measure" id="{escape(measure_id)}"><figcaption>'
            f'{escape(label)}</figcaption><div class="panels">{"".join(charts)}</div>'
            "</figure>"
        )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Co-production measures: {escape(name)}</title><style>{STYLE}</style>"
        f"</head><body>{''.join(body)}</body></html>"
    )


# Changes with this file's code, so that a report is never reused across a change in how
# reports are drawn.
REPORT_CODE = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]
REPORT_CODE_FILE = ".report_code"


@dataclass(frozen=True)
class WrittenReports:
    paths: list[Path]
    reused: int  # organisations whose rows did not change: their page copied, not redrawn


def write_reports(
    marts_dir: Path, out_dir: Path, previous_dir: Path | None = None
) -> WrittenReports:
    """One page per organisation. An organisation whose mart rows are exactly those of the
    previous publication (`previous_dir`), drawn by the same code, keeps its page as it was:
    a run redraws only the organisations whose data changed."""
    measures = pl.read_parquet(marts_dir / "mart_measures.parquet")
    changes = pl.read_parquet(marts_dir / "mart_measure_changes.parquet")
    out_dir.mkdir(parents=True, exist_ok=True)
    previous = _previous_rows(previous_dir)
    # Split once by organisation: filtering the whole marts per organisation would cost
    # organisations x rows.
    changes_by_org = changes.partition_by("organisation_id", as_dict=True)
    paths, reused = [], 0
    for (organisation_id,), own in sorted(
        measures.partition_by("organisation_id", as_dict=True).items()
    ):
        own_changes = changes_by_org.get((organisation_id,), changes.clear())
        path = out_dir / f"{organisation_id}.html"
        before = previous.get(organisation_id)
        if before and before[0].equals(own) and before[1].equals(own_changes):
            path.write_bytes(before[2].read_bytes())
            reused += 1
        else:
            path.write_text(build_report(own, own_changes, organisation_id), encoding="utf-8")
        paths.append(path)
    (out_dir / REPORT_CODE_FILE).write_text(REPORT_CODE)
    return WrittenReports(paths, reused)


def _previous_rows(previous_dir: Path | None) -> dict[str, tuple[pl.DataFrame, pl.DataFrame, Path]]:
    """Per organisation: its rows of the previous publication's marts and its page there."""
    if previous_dir is None:
        return {}
    code = previous_dir / "reports" / REPORT_CODE_FILE
    if not code.exists() or code.read_text() != REPORT_CODE:
        return {}
    measures = pl.read_parquet(previous_dir / "mart_measures.parquet")
    changes = pl.read_parquet(previous_dir / "mart_measure_changes.parquet")
    changes_by_org = changes.partition_by("organisation_id", as_dict=True)
    previous = {}
    for (organisation_id,), own in measures.partition_by("organisation_id", as_dict=True).items():
        page = previous_dir / "reports" / f"{organisation_id}.html"
        if page.exists():
            own_changes = changes_by_org.get((organisation_id,), changes.clear())
            previous[organisation_id] = (own, own_changes, page)
    return previous
