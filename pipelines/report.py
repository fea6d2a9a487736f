"""One HTML page per organisation that a co-production lead opens, prints or reads on a tablet
without any tools.

Built only from the published (suppressed) marts, so it can never show more than they do. The
words come from the reference data in dbt_project/seeds: measure labels and descriptions
(ref_measures.csv), question wording (ref_question_versions.csv) and answer labels
(ref_answer_options.csv). Nothing needs JavaScript or the network: charts are inline SVG and
styles inline CSS, and every figure is printed as text (hovering a chart point only repeats it).

The page, in order: the publication it belongs to; a table of contents; headlines (the largest
significant changes since the baseline, the largest manager-frontline gap, and which figures are
withheld and why); how to read it; who took part (mart_respondents); one section per kind of
measure, each measure a row per group (everyone asked, and the workforce and lived-experience
roll-ups when they differ) with every wave's percentage, n and 95% interval, a small trend chart
and the change since the baseline, then a table by service (latest wave and its change); the
manager-frontline gap (mart_manager_frontline_gap); and a footer naming the publication and the
organisation's source files with their sha256. Print styles lay it out on A4 landscape. Which
breakdowns make the rows under each measure and which the by-service tables is
ref_breakdowns.csv's report_panel column.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache
from html import escape
from pathlib import Path

import polars as pl

from pipelines.registry_schema import ALL_SERVICES
from pipelines.settings import REFERENCE_DIR

REFERENCE_FILES = (
    "ref_measures.csv",
    "ref_questions.csv",
    "ref_question_versions.csv",
    "ref_answer_options.csv",
    "ref_breakdowns.csv",
)
# Measure family -> (section heading, what it shows), in page order. A family not listed here
# comes after them, under its own name.
SECTIONS = {
    "awareness": ("Hearing of co-production", "Whether people had heard of co-production."),
    "understanding": (
        "Understanding co-production",
        "How people described co-production in their own words, coded with the codebook.",
    ),
    "involvement": (
        "Being involved",
        "Whether people shape their own support, the services and how decisions are made.",
    ),
    "attitude": ("How co-production is valued", "What people think of co-production."),
    "practice": (
        "How involvement is organised",
        "Asked of the people who took part in co-production.",
    ),
    "barrier": ("What gets in the way", "Staff could choose more than one answer."),
    "theme": (
        "In their own words",
        "Share of written answers that mention each topic, coded with the codebook.",
    ),
}
EVERYONE = "Everyone asked"
WITHHELD = '<span class="suppressed">withheld</span>'  # a withheld figure, wherever it is
ROLLUPS = {"workforce": "Workforce", "lived_experience": "Lived experience"}
SPARK_W, SPARK_H, SPARK_PAD = 112, 32, 9
HEADLINE_CHANGES = 5
PUBLICATION_FILE = ".publication.json"
REPORT_CODE_FILE = ".report_code"

STYLE = """
:root { --ink: #1b1b1b; --muted: #555; --line: #d9d9d9; --accent: #c2410c; --blue: #3b64a0; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; margin: 0;
       color: var(--ink); font-size: 15px; line-height: 1.4; }
main { max-width: 1180px; margin: 0 auto; padding: 1.5rem 1.25rem 3rem; }
h1 { margin: 0 0 .2rem; font-size: 1.8rem; }
h2 { font-size: 1.3rem; border-bottom: 2px solid var(--line); padding-bottom: .2rem;
     margin: 1.6rem 0 .4rem; }
h3 { font-size: 1.02rem; margin: 1.2rem 0 .3rem; }
.subtitle { color: var(--muted); margin: 0 0 1rem; }
.intro, .note, .key { color: var(--muted); margin: .2rem 0 .6rem; }
nav.toc ol { columns: 2; margin: .3rem 0; padding-left: 1.4rem; }
nav.toc a { color: var(--blue); }
.headlines ul { margin: .3rem 0 .8rem; padding-left: 1.2rem; }
.headlines li { margin: .25rem 0; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; vertical-align: top; padding: 3px 6px; line-height: 1.3; }
thead th { font-weight: 600; color: var(--muted); border-bottom: 1px solid #999;
           font-size: 12px; }
figure.measure { margin: 0; }
figure.measure table { table-layout: fixed; }
figure.measure tbody tr:first-child > * { border-top: 1px solid var(--line); }
figure.measure + figure.measure thead { position: absolute; width: 1px; height: 1px;
  overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
th.what { font-weight: 400; }
th.what .label { font-weight: 600; display: block; }
.asked { display: block; color: var(--muted); font-size: 11.5px; }
td.value b { font-weight: 600; }
td.value .n, td.value .interval, .small { color: var(--muted); font-size: 11.5px; }
td.value.sig b, .sig { color: var(--accent); }
td.withheld, .withheld { color: #777; font-style: italic; }
td.trend { padding: 2px 6px; }
.change .sig { font-weight: 600; }
table.services th[scope="row"], table.gap th[scope="row"], table.respondents th[scope="row"] {
  font-weight: 400; border-top: 1px solid var(--line); }
table.services td, table.gap td, table.respondents td { border-top: 1px solid var(--line); }
tr.sub th { font-weight: 600; padding-top: .6rem; color: var(--ink); }
tr.question th { font-weight: 400; font-style: italic; color: var(--muted); }
table.gap { table-layout: fixed; }
caption { caption-side: top; text-align: left; font-weight: 600; padding: .6rem 0 .2rem; }
svg.spark { display: block; }
svg.spark .frame { fill: #f6f6f6; stroke: none; }
svg.spark .mid { stroke: #ddd; stroke-dasharray: 2 2; }
svg.spark .ci { stroke: var(--blue); stroke-width: 1.5; }
svg.spark .trend { stroke: var(--blue); fill: none; stroke-width: 1.2; }
svg.spark .point { fill: var(--blue); }
svg.spark .point.significant { fill: var(--accent); }
svg.spark .point.not-comparable { fill: #fff; stroke: var(--blue); stroke-width: 1.5; }
svg.spark .baseline { stroke: #888; stroke-dasharray: 3 2; }
svg.spark .suppressed { stroke: #999; stroke-width: 1.5; }
footer.provenance { margin-top: 2.5rem; border-top: 2px solid var(--line); font-size: 13px; }
footer.provenance table { width: auto; }
footer.provenance td, footer.provenance th { border-top: 1px solid var(--line); }
code { font-size: 12px; }
@media print {
  @page { size: A4 landscape; margin: 10mm 12mm; }
  body { font-size: 9.5pt; }
  main { max-width: none; padding: 0; }
  table { font-size: 8.5pt; }
  h2 { break-after: avoid; margin-top: 1.2rem; }
  h3, caption { break-after: avoid; }
  figure.measure, tr { break-inside: avoid; }
  thead { display: table-header-group; }
  a { color: inherit; text-decoration: none; }
  .scroll { overflow: visible; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""


@dataclass(frozen=True)
class Provenance:
    """The publication a page belongs to, as the page prints it."""

    publication: str  # the publication id, as manifest.json and the marts' metadata name it
    published_at: dt.datetime
    source_files: tuple[dict, ...] = ()  # as manifest.json lists them (file_name, file_sha256...)


# ---------------------------------------------------------------------------------------------
# Words, from the reference data


@dataclass(frozen=True)
class Wording:
    measures: dict[str, dict]  # ref_measures.csv by measure_id, with its row number as "order"
    questions: dict[str, dict]  # ref_questions.csv by question_id, with "order"
    wordings: dict[str, dict[str, str]]  # question_id -> version -> wording
    options: dict[tuple[str, str], tuple[int, str]]  # (option set, code) -> (sort order, label)
    # ref_breakdowns.csv: report_panel -> its breakdowns, in file order. measure_rows: a row
    # under each measure per group; service_columns: a column per service in the by-service table
    panels: dict[str, tuple[str, ...]] = field(default_factory=dict)
    breakdown_labels: dict[str, str] = field(default_factory=dict)

    def distribution(self, measure_id: str) -> tuple[dict, str] | None:
        """<distribution>__<option> -> (the distribution's ref_measures row, option code)."""
        parent, _, option = measure_id.rpartition("__")
        reference = self.measures.get(parent)
        if reference and option and (reference.get("kind") or "share") == "distribution":
            return reference, option
        return None

    def question(self, measure_id: str, mart_question: str | None) -> str | None:
        theme = _theme(measure_id)
        if theme:
            return theme[0]
        if distribution := self.distribution(measure_id):
            return distribution[0]["question_id"]
        reference = self.measures.get(measure_id)
        return reference["question_id"] if reference else mart_question

    def answer_of(self, measure_id: str) -> str | None:
        """The question whose answers (one per measure) a measure counts, when it is one of
        several answers to one question: a theme of an open answer, or a multiple choice."""
        theme = _theme(measure_id)
        if theme:
            return theme[0]
        if distribution := self.distribution(measure_id):
            return distribution[0]["question_id"]
        reference = self.measures.get(measure_id)
        if (
            reference
            and self.questions.get(reference["question_id"], {}).get("answer_type") == "multi"
        ):
            return reference["question_id"]
        return None

    def _option(self, question_id: str, code: str) -> tuple[int, str] | None:
        option_set = self.questions.get(question_id, {}).get("option_set_id")
        return self.options.get((option_set, code))

    def label(self, measure_id: str, mart_label: str) -> str:
        """What a row is called: the answer's label for one answer among several (a theme, a
        barrier), the measure's label otherwise."""
        theme = _theme(measure_id)
        if theme and (option := self._option(*theme)):
            return option[1]
        if distribution := self.distribution(measure_id):
            reference, code = distribution
            option = self._option(reference["question_id"], code)
            return option[1] if option else "No answer" if code == "no_answer" else code
        reference = self.measures.get(measure_id)
        if reference and self.answer_of(measure_id):
            codes = reference["numerator_codes"].split("|")
            labels = [o[1] for c in codes if (o := self._option(reference["question_id"], c))]
            if len(labels) == len(codes):
                return " or ".join(labels)
        if reference:
            return reference["label"]
        return re.sub(r"\s*\(open\)", "", mart_label or measure_id)

    def order(self, measure_id: str, question_id: str | None) -> tuple:
        question = self.questions.get(question_id or "", {}).get("order", 999)
        reference = self.measures.get(measure_id)
        if reference:
            return (reference["order"], 0)
        if distribution := self.distribution(measure_id):
            option = self._option(distribution[0]["question_id"], distribution[1])
            return (distribution[0]["order"], option[0] if option else 999)
        theme = _theme(measure_id)
        option = self._option(*theme) if theme else None
        return (1000 + question, option[0] if option else 999)

    def wording(self, question_id: str | None, version: str = "1") -> str | None:
        versions = self.wordings.get(question_id or "", {})
        return versions.get(version) or next(iter(versions.values()), None)

    def counted(self, measure_id: str) -> str:
        reference = self.measures.get(measure_id)
        if not reference and (distribution := self.distribution(measure_id)):
            reference = distribution[0]
        if reference and reference.get("description"):
            return reference["description"]
        if _theme(measure_id):
            return "Written answers mentioning it, over everyone who wrote an answer"
        return ""


def _theme(measure_id: str) -> tuple[str, str] | None:
    """theme_<question>__<theme> -> (QUESTION, theme)."""
    match = re.fullmatch(r"theme_([a-z0-9_]+?)__([a-z0-9_]+)", measure_id)
    return (match.group(1).upper(), match.group(2)) if match else None


def load_wording(reference_dir: Path = REFERENCE_DIR) -> Wording:
    """The reference wording, read again only when a reference file changes."""
    return _load_wording(reference_dir, report_code(reference_dir))


@cache
def _load_wording(reference_dir: Path, _version: str) -> Wording:
    def rows(name: str) -> list[dict]:
        path = reference_dir / name
        if not path.exists():
            return []
        return pl.read_csv(path, infer_schema=False).to_dicts()

    measures = {r["measure_id"]: {**r, "order": i} for i, r in enumerate(rows(REFERENCE_FILES[0]))}
    questions = {
        r["question_id"]: {**r, "order": i} for i, r in enumerate(rows(REFERENCE_FILES[1]))
    }
    wordings: dict[str, dict[str, str]] = defaultdict(dict)
    for r in rows(REFERENCE_FILES[2]):
        wordings[r["question_id"]][r["question_version"]] = r["wording"]
    options = {
        (r["option_set_id"], r["option_code"]): (int(r["sort_order"] or 0), r["label"])
        for r in rows(REFERENCE_FILES[3])
    }
    panels: dict[str, list[str]] = defaultdict(list)
    breakdown_labels = {}
    for r in rows(REFERENCE_FILES[4]):
        breakdown_labels[r["breakdown"]] = r["label"]
        if r["report_panel"]:
            panels[r["report_panel"]].append(r["breakdown"])
    return Wording(
        measures,
        questions,
        dict(wordings),
        options,
        {panel: tuple(b) for panel, b in panels.items()},
        breakdown_labels,
    )


def report_code(reference_dir: Path = REFERENCE_DIR) -> str:
    """Changes with this file's code and with the reference wording, so that a page is never
    reused across a change in how pages are drawn or worded."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    for name in REFERENCE_FILES:
        path = reference_dir / name
        digest.update(path.read_bytes() if path.exists() else b"")
    return digest.hexdigest()[:16]


# ---------------------------------------------------------------------------------------------
# Formatting


def _p(p_value: float | None) -> str:
    if p_value is None:  # no variance (0% or 100% in both waves)
        return ""
    return "p < 0.0001" if p_value < 0.0001 else f"p = {p_value:.4f}"


def _n(n: int) -> str:
    return f"{n:,}"


def _plain_reason(reason: str | None) -> str:
    if reason and reason.startswith("secondary"):
        return "withheld so that another withheld figure cannot be worked out from the totals"
    return reason or "withheld"


@dataclass
class Page:
    """What the sections found that the headlines report: withheld figures and their marks."""

    marks: dict[str, str] = field(default_factory=dict)  # plain reason -> footnote letter
    withheld: dict[str, dict[str, list[int]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )  # plain reason -> where -> waves
    shown: int = 0  # figures printed (withheld ones included)

    def mark(self, reason: str | None) -> str:
        plain = _plain_reason(reason)
        return self.marks.setdefault(plain, "abcdefghijklmnopqrstuvwxyz"[len(self.marks) % 26])

    def count(self, cell: dict, where: str, wave: int) -> None:
        self.shown += 1
        if cell["suppressed"]:
            self.withheld[_plain_reason(cell["suppression_reason"])][where].append(wave)


@dataclass(frozen=True)
class Column:
    """One column of a by-service table: a service, or a service's group."""

    breakdown: str
    service_id: str
    group_id: str
    heading: str


@dataclass
class Scope:
    """One organisation's page: its cells, waves, panels and labels, shared by every section."""

    by_cell: dict  # (measure, breakdown, service, group, wave) -> the cell's mart row
    waves: list[int]
    baseline: int
    latest: int
    # the measure_rows breakdowns of ref_breakdowns.csv, each with its groups in page order
    row_groups: list[tuple[str, list[str]]]
    # the service_columns breakdowns: (caption, columns), a table each
    service_tables: list[tuple[str, list[Column]]]
    group_labels: dict[str, str]
    wording: Wording
    page: Page


def _tip(cell: dict, wave: int) -> str:
    if cell["suppressed"]:
        return f"{wave}: withheld ({cell['suppression_reason'] or ''})"
    note = ""
    if cell.get("comparable_with_baseline") is False:
        note = "; wording changed, not comparable with baseline"
    if cell.get("change_pp_from_baseline") is not None:
        note += f"; {cell['change_pp_from_baseline']:+.1f} points from baseline"
        if cell.get("p_value_vs_baseline") is not None:
            note += f", {_p(cell['p_value_vs_baseline'])}"
    return (
        f"{wave}: {cell['pct']:.1f}% ({cell['ci_low']:.1f} to {cell['ci_high']:.1f}), "
        f"n = {cell['n']}{note}"
    )


def _spark(waves: list[int], baseline: int, cells: dict[int, dict], title: str) -> str:
    """A small chart of one row across waves: each estimate with its 95% interval on a 0-100
    scale, the baseline dashed, significant changes from it in orange, reworded waves hollow,
    withheld waves as a grey cross at the foot. Every figure is also printed beside it."""
    top, bottom = 3, SPARK_H - 3
    span = SPARK_W - 2 * SPARK_PAD
    x = {
        w: SPARK_PAD + (i * span / (len(waves) - 1) if len(waves) > 1 else span / 2)
        for i, w in enumerate(waves)
    }

    def y(pct: float) -> float:
        return bottom - (bottom - top) * pct / 100

    parts = [
        f'<svg class="spark" width="{SPARK_W}" height="{SPARK_H}" viewBox="0 0 {SPARK_W} '
        f'{SPARK_H}" role="img" aria-label="{escape(title)}">',
        f'<rect class="frame" x="0" y="{top}" width="{SPARK_W}" height="{bottom - top}"/>',
        f'<line class="mid" x1="0" x2="{SPARK_W}" y1="{y(50):.1f}" y2="{y(50):.1f}"/>',
    ]
    if baseline in x:
        parts.append(
            f'<line class="baseline" x1="{x[baseline]:.1f}" x2="{x[baseline]:.1f}" '
            f'y1="{top}" y2="{bottom}"/>'
        )
    trend: list[tuple[float, float] | None] = []
    for wave in waves:
        cell = cells.get(wave)
        if cell is None:
            trend.append(None)
            continue
        tip = f"<title>{escape(_tip(cell, wave))}</title>"
        if cell["suppressed"]:
            cx, cy = x[wave], bottom - 4
            parts.append(
                f'<path class="suppressed" d="M{cx - 3:.1f},{cy - 3:.1f}l6,6m0,-6l-6,6">'
                f"{tip}</path>"
            )
            trend.append(None)
            continue
        classes = ["point"]
        if cell.get("significant_vs_baseline"):
            classes.append("significant")
        if cell.get("comparable_with_baseline") is False:
            classes.append("not-comparable")
        parts.append(
            f'<line class="ci" x1="{x[wave]:.1f}" x2="{x[wave]:.1f}" '
            f'y1="{y(cell["ci_low"]):.1f}" y2="{y(cell["ci_high"]):.1f}"/>'
        )
        parts.append(
            f'<circle class="{" ".join(classes)}" cx="{x[wave]:.1f}" '
            f'cy="{y(cell["pct"]):.1f}" r="3">{tip}</circle>'
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


def _value(cell: dict | None, page: Page, where: str, wave: int) -> str:
    """A wave's figure printed: percentage, n and interval, or withheld and why."""
    if cell is None:
        return '<td class="value small">not asked</td>'
    page.count(cell, where, wave)
    if cell["suppressed"]:
        reason = escape(cell["suppression_reason"] or "")
        return (
            f'<td class="value withheld" title="{reason}">{WITHHELD}'
            f"<sup>{page.mark(cell['suppression_reason'])}</sup></td>"
        )
    sig = " sig" if cell.get("significant_vs_baseline") else ""
    reworded = "<sup>†</sup>" if cell.get("comparable_with_baseline") is False else ""
    return (
        f'<td class="value{sig}"><b>{cell["pct"]:.1f}%</b>{reworded} '
        f'<span class="n">n = {_n(cell["n"])}</span><br>'
        f'<span class="interval">{cell["ci_low"]:.1f} to {cell["ci_high"]:.1f}</span></td>'
    )


def _change(cell: dict | None, short: bool = False) -> str:
    """The change since the baseline of a wave's cell, in words."""
    if cell is None or cell["suppressed"]:  # the figure itself says withheld
        return ""
    if cell.get("comparable_with_baseline") is False:
        return '<span class="small">reworded: not comparable</span>'
    change = cell.get("change_pp_from_baseline")
    if change is None:
        note = cell.get("note") or ""
        if note.startswith("withheld"):
            return '<span class="small">not computed: a figure is withheld</span>'
        return f'<span class="small">{escape(note)}</span>' if note else ""
    p_text = _p(cell.get("p_value_vs_baseline"))
    if cell.get("significant_vs_baseline"):
        arrow = "▲" if change > 0 else "▼"
        text = f'<span class="sig">{arrow} {change:+.1f} pts</span>'
        return text if short else f'{text}<br><span class="small">{p_text}</span>'
    if short or not p_text:
        return f'<span class="small">{change:+.1f} pts</span>' if short else f"{change:+.1f} pts"
    return f'{change:+.1f} pts<br><span class="small">{p_text}</span>'


# ---------------------------------------------------------------------------------------------
# The page


@dataclass(frozen=True)
class Row:
    measure_id: str
    breakdown: str
    service_id: str
    group_id: str
    who: str


def _ensure(frame: pl.DataFrame, columns: dict[str, pl.DataType]) -> pl.DataFrame:
    missing = [pl.lit(None, dtype=t).alias(c) for c, t in columns.items() if c not in frame.columns]
    return frame.with_columns(missing) if missing else frame


def build_report(
    measures: pl.DataFrame,
    changes: pl.DataFrame,
    organisation_id: str,
    gap: pl.DataFrame | None = None,
    provenance: Provenance | None = None,
    reference_dir: Path = REFERENCE_DIR,
    respondents: pl.DataFrame | None = None,
) -> str:
    measures = measures.filter(pl.col("organisation_id") == organisation_id)
    if measures.is_empty():
        raise KeyError(organisation_id)
    changes = changes.filter(pl.col("organisation_id") == organisation_id)
    measures = _ensure(
        measures,
        {
            "group_label": pl.String,
            "question_id": pl.String,
            "question_versions": pl.List(pl.String),
        },
    )
    changes = _ensure(changes, {"note": pl.String})
    keys = ["breakdown", "service_id", "group_id", "measure_id", "wave"]
    cells = measures.join(
        changes.select(
            *keys,
            "change_pp_from_baseline",
            "p_value_vs_baseline",
            "significant_vs_baseline",
            "comparable_with_baseline",
            "note",
        ),
        on=keys,
        how="left",
    )
    by_cell = {
        (r["measure_id"], r["breakdown"], r["service_id"], r["group_id"], r["wave"]): r
        for r in cells.iter_rows(named=True)
    }
    wording = load_wording(reference_dir)
    name = measures["organisation_name"][0]
    waves = sorted(measures["wave"].unique().to_list())
    baselines = measures.filter(pl.col("is_baseline"))["wave"].unique().to_list()
    baseline = baselines[0] if baselines else waves[0]
    latest = waves[-1]
    group_labels = {
        g: label
        for g, label in measures.select("group_id", "group_label").unique().iter_rows()
        if label
    }
    row_groups = [
        (b, _groups_in(measures, b, group_labels)) for b in wording.panels.get("measure_rows", ())
    ]
    service_tables = [
        (wording.breakdown_labels.get(b, b), columns)
        for b in wording.panels.get("service_columns", ())
        if (columns := _service_columns(measures, b, group_labels))
    ]
    catalogue = _catalogue(measures, wording)
    page = Page()
    scope = Scope(
        by_cell, waves, baseline, latest, row_groups, service_tables, group_labels, wording, page
    )
    sections, toc = [], []
    for family, entries in catalogue.items():
        heading, intro = SECTIONS.get(family, (family.replace("_", " ").capitalize(), ""))
        anchor = f"s-{family}"
        toc.append((anchor, heading))
        sections.append(_section(anchor, heading, intro, entries, scope))
    gap_html = _gap_section(gap, organisation_id, catalogue, scope)
    respondents_html = _respondents_section(respondents, organisation_id, scope)
    headlines = _headlines(catalogue, scope, gap, organisation_id)
    toc_html = "".join(
        f'<li><a href="#{a}">{escape(t)}</a></li>'
        for a, t in [
            ("headlines", "Headlines"),
            ("how-to-read", "How to read this report"),
            *([("respondents", "Who took part")] if respondents_html else []),
            *toc,
            ("gap", "Managers and frontline staff"),
            ("about", "About this publication"),
        ]
    )
    span = f"{waves[0]} to {latest}" if len(waves) > 1 else str(latest)
    body = [
        f"<h1>{escape(name)}</h1>",
        f'<p class="subtitle">Co-production survey results, {span} (baseline {baseline}). '
        f"{_publication_line(provenance)}</p>",
        f'<nav class="toc" aria-label="Contents"><h2>Contents</h2><ol>{toc_html}</ol></nav>',
        headlines,
        _how_to_read(baseline, page, group_labels),
        respondents_html,
        *sections,
        gap_html,
        _footer(provenance, organisation_id),
    ]
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>Co-production survey results: {escape(name)}</title><style>{STYLE}</style>"
        f"</head><body><main>{''.join(body)}</main></body></html>"
    )


def _group_order(group_id: str, group_labels: dict[str, str]) -> tuple:
    """Everyone, then the roll-ups, then each role by its label."""
    if group_id == "all":
        return (0, "")
    if group_id in ROLLUPS:
        return (1, list(ROLLUPS).index(group_id))
    return (2, group_labels.get(group_id, group_id))


def _who(group_id: str, group_labels: dict[str, str]) -> str:
    if group_id == "all":
        return EVERYONE
    return ROLLUPS.get(group_id) or group_labels.get(group_id, group_id)


def _groups_in(measures: pl.DataFrame, breakdown: str, group_labels: dict[str, str]) -> list[str]:
    groups = measures.filter(pl.col("breakdown") == breakdown)["group_id"].unique().to_list()
    return sorted(groups, key=lambda g: _group_order(g, group_labels))


def _service_columns(
    measures: pl.DataFrame, breakdown: str, group_labels: dict[str, str]
) -> list[Column]:
    """A column per service (and, for a breakdown by service and group, per group in it)."""
    found = (
        measures.filter(pl.col("breakdown") == breakdown)
        .select("service_id", "service_name", "group_id")
        .unique()
        .rows()
    )
    found.sort(key=lambda c: (c[1], _group_order(c[2], group_labels)))
    return [
        Column(
            breakdown,
            service_id,
            group_id,
            name if group_id == "all" else f"{name}: {_who(group_id, group_labels)}",
        )
        for service_id, name, group_id in found
    ]


def _catalogue(measures: pl.DataFrame, wording: Wording) -> dict[str, list[dict]]:
    """Family -> its measures in reading order, each with its label and, for one answer among
    several, the question it answers."""
    families = {f: i for i, f in enumerate(SECTIONS)}
    versions = defaultdict(dict)
    for measure_id, wave, version in (
        measures.filter(pl.col("breakdown") == "organisation")
        .select("measure_id", "wave", "question_versions")
        .iter_rows()
    ):
        versions[measure_id][wave] = version
    rows = measures.select("measure_id", "measure_label", "measure_family", "question_id").unique(
        subset="measure_id", keep="first", maintain_order=True
    )
    entries = []
    for measure_id, label, family, question in rows.iter_rows():
        question = wording.question(measure_id, question)
        answer_of = wording.answer_of(measure_id)
        plain = wording.label(measure_id, label)
        asked = (
            re.sub(r"\s*\([^)]*\)\s*$", "", wording.wording(answer_of) or "") if answer_of else ""
        )
        entries.append(
            {
                "measure_id": measure_id,
                "family": family,
                "label": plain,
                # named on its own (headlines, the gap): with the question it answers
                "full_label": f"{plain} ({asked})" if asked else plain,
                "question": question,
                "answer_of": answer_of,
                "versions": versions.get(measure_id, {}),
                "order": wording.order(measure_id, question),
            }
        )
    entries.sort(
        key=lambda e: (
            families.get(e["family"], len(families)),
            e["family"],
            e["order"],
            e["label"],
        )
    )
    catalogue: dict[str, list[dict]] = {}
    for entry in entries:
        catalogue.setdefault(entry["family"], []).append(entry)
    return catalogue


def _blocks(entries: list[dict]) -> list[tuple[str | None, list[dict]]]:
    """A section's measures: those asked on their own, then one block per question whose
    answers are several measures (each theme of an open answer, each barrier)."""
    blocks: dict[str | None, list[dict]] = {}
    for entry in entries:
        blocks.setdefault(entry["answer_of"], []).append(entry)
    return sorted(blocks.items(), key=lambda b: b[0] is not None)


def _asked(entry: dict, wording: Wording, counted: str) -> str:
    """The question's wording (and its later wording, from the wave it changed), and what
    counts."""
    by_version: dict[str, int] = {}
    for wave, versions in sorted(entry["versions"].items()):
        for version in versions or ["1"]:
            by_version.setdefault(version, wave)
    if not by_version:
        by_version = {"1": 0}
    parts = []
    for i, (version, wave) in enumerate(sorted(by_version.items(), key=lambda v: v[1])):
        text = wording.wording(entry["question"], version)
        if text:
            parts.append(f"“{escape(text)}”" if i == 0 else f"from {wave}: “{escape(text)}”")
    text = f"Asked: {'; '.join(parts)}." if parts else ""
    if counted:
        text += f" Counted: {escape(counted)}."
    return f'<span class="asked">{text.strip()}</span>' if text else ""


def _rows_of(entry: dict, scope: Scope) -> list[Row]:
    """A row per group of each measure_rows breakdown (everyone asked, then each roll-up...),
    leaving out a row whose figures are just the first row's again (a measure asked of the
    workforce only has the same figures for 'Workforce')."""
    measure_id = entry["measure_id"]

    def figures(breakdown: str, group: str) -> list:
        found = [
            scope.by_cell.get((measure_id, breakdown, ALL_SERVICES, group, w)) for w in scope.waves
        ]
        return [(c["n"], c["k"], c["suppressed"]) if c else None for c in found]

    rows, first = [], None
    for breakdown, groups in scope.row_groups:
        for group in groups:
            found = figures(breakdown, group)
            if not any(found) or found == first:
                continue
            first = first or found
            rows.append(
                Row(measure_id, breakdown, ALL_SERVICES, group, _who(group, scope.group_labels))
            )
    return rows


def _section(anchor: str, heading: str, intro: str, entries: list[dict], scope: Scope) -> str:
    by_cell, waves, baseline, latest = scope.by_cell, scope.waves, scope.baseline, scope.latest
    wording, page = scope.wording, scope.page
    width_what, width_who, width_trend = 29, 12, 11
    width_change = 11 if latest != baseline else 0
    width_wave = (100 - width_what - width_who - width_trend - width_change) / len(waves)
    colgroup = (
        f'<colgroup><col style="width:{width_what}%"><col style="width:{width_who}%">'
        + "".join(f'<col style="width:{width_wave:.2f}%">' for _ in waves)
        + f'<col style="width:{width_trend}%">'
        + (f'<col style="width:{width_change}%">' if width_change else "")
        + "</colgroup>"
    )
    head = (
        "<thead><tr><th>Measure</th><th>Who</th>"
        + "".join(f"<th>{w}{' (baseline)' if w == baseline else ''}</th>" for w in waves)
        + "<th>Trend</th>"
        + (f"<th>Change {baseline} to {latest}</th>" if width_change else "")
        + "</tr></thead>"
    )
    out = [f'<section id="{anchor}"><h2>{escape(heading)}</h2>']
    if intro:
        out.append(f'<p class="intro">{escape(intro)}</p>')
    said = None  # how the previous block is counted: said once for blocks counted alike
    for question, block in _blocks(entries):
        if question:
            asked = wording.wording(question) or block[0]["label"]
            counted = wording.counted(block[0]["measure_id"])
            out.append(f"<h3>“{escape(asked)}”</h3>")
            if counted and counted != said:
                out.append(f'<p class="note">Counted: {escape(counted)}.</p>')
            said = counted
        for entry in block:
            rows = _rows_of(entry, scope)
            if not rows:
                continue
            what = f'<span class="label">{escape(entry["label"])}</span>'
            if not question:
                what += _asked(entry, wording, wording.counted(entry["measure_id"]))
            body = []
            for i, row in enumerate(rows):
                panel = {
                    w: c
                    for w in waves
                    if (c := by_cell.get((row.measure_id, row.breakdown, row.service_id,
                                          row.group_id, w)))
                }  # fmt: skip
                cells = "".join(
                    _value(panel.get(w), page, f"{entry['full_label']}: {row.who}", w)
                    for w in waves
                )
                title = f"{entry['label']}: {row.who}"
                change = (
                    f'<td class="change">{_change(panel.get(latest))}</td>' if width_change else ""
                )
                lead = (
                    f'<th scope="rowgroup" rowspan="{len(rows)}" class="what">{what}</th>'
                    if i == 0
                    else ""
                )
                body.append(
                    f'<tr>{lead}<td class="who">{escape(row.who)}</td>{cells}'
                    f'<td class="trend">{_spark(waves, baseline, panel, title)}</td>'
                    f"{change}</tr>"
                )
            out.append(
                f'<figure class="measure" id="{escape(entry["measure_id"])}">'
                f"<table>{colgroup}{head}<tbody>{''.join(body)}</tbody></table></figure>"
            )
    ordered = [entry for _, block in _blocks(entries) for entry in block]
    for caption, columns in scope.service_tables:
        out.append(_services_table(ordered, caption, columns, scope))
    out.append("</section>")
    return "".join(out)


def _services_table(entries: list[dict], caption: str, columns: list[Column], scope: Scope) -> str:
    """Each measure by service (a column each) at the latest wave, with its change since the
    baseline: every wave of every service is in mart_measures."""
    by_cell, baseline, latest = scope.by_cell, scope.baseline, scope.latest
    wording, page = scope.wording, scope.page
    caption = f"{caption}, {latest}" + (
        f", and the change since {baseline}" if latest != baseline else ""
    )
    head = "<thead><tr><th>Measure</th>" + "".join(
        f"<th>{escape(column.heading)}</th>" for column in columns
    )
    rows, current = [], None
    several = len({e["answer_of"] for e in entries}) > 1  # say which question each answers
    for entry in entries:
        if several and entry["answer_of"] and entry["answer_of"] != current:
            asked = wording.wording(entry["answer_of"]) or entry["answer_of"]
            rows.append(
                f'<tr class="sub"><th colspan="{len(columns) + 1}">“{escape(asked)}”</th></tr>'
            )
        current = entry["answer_of"]
        tds = []
        for column in columns:
            key = (entry["measure_id"], column.breakdown, column.service_id, column.group_id)
            cell = by_cell.get((*key, latest))
            if cell is None:
                tds.append('<td class="small">not asked</td>')
                continue
            page.count(cell, f"{entry['full_label']}: {column.heading}", latest)
            if cell["suppressed"]:
                tds.append(
                    f'<td class="withheld" title="{escape(cell["suppression_reason"] or "")}">'
                    f"{WITHHELD}<sup>{page.mark(cell['suppression_reason'])}</sup></td>"
                )
                continue
            change = _change(cell, short=True) if latest != baseline else ""
            sig = ' class="sig"' if cell.get("significant_vs_baseline") else ""
            tds.append(
                f"<td><b{sig}>{cell['pct']:.1f}%</b> "
                f'<span class="small">n = {_n(cell["n"])}</span>'
                + (f" · {change}" if change else "")
                + "</td>"
            )
        rows.append(
            f'<tr id="{escape(entry["measure_id"])}-by-{escape(columns[0].breakdown)}">'
            f'<th scope="row">{escape(entry["label"])}</th>{"".join(tds)}</tr>'
        )
    return (
        f'<div class="scroll"><table class="services"><caption>{caption}</caption>{head}</tr>'
        f"</thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def _respondents_section(
    respondents: pl.DataFrame | None, organisation_id: str, scope: Scope
) -> str:
    """How many people each figure rests on (mart_respondents): a row per group of the
    measure_rows breakdowns, then per column of the by-service tables, a column per wave."""
    if respondents is None or respondents.is_empty():
        return ""
    own = respondents.filter(pl.col("organisation_id") == organisation_id)
    by_cell = {
        (r["breakdown"], r["service_id"], r["group_id"], r["wave"]): r
        for r in own.iter_rows(named=True)
    }
    organisation_wide = [
        (b, ALL_SERVICES, g, "Everyone" if g == "all" else _who(g, scope.group_labels))
        for b, groups in scope.row_groups
        for g in groups
    ]
    rows = [row for place in organisation_wide if (row := _respondents_row(by_cell, place, scope))]
    for caption, columns in scope.service_tables:
        by_service = [
            row
            for c in columns
            if (
                row := _respondents_row(
                    by_cell, (c.breakdown, c.service_id, c.group_id, c.heading), scope
                )
            )
        ]
        if by_service:
            span = len(scope.waves) + 1
            rows += [
                f'<tr class="sub"><th colspan="{span}">{escape(caption)}</th></tr>',
                *by_service,
            ]
    if not rows:
        return ""
    head = "<thead><tr><th>Who</th>" + "".join(
        f"<th>{w}{' (baseline)' if w == scope.baseline else ''}</th>" for w in scope.waves
    )
    return (
        '<section id="respondents"><h2>Who took part</h2><p class="intro">How many people '
        "answered the survey each year (each counted once), in every group the figures below "
        "are shown for.</p>"
        f'<div class="scroll"><table class="respondents">{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div></section>"
    )


def _respondents_row(by_cell: dict, place: tuple[str, str, str, str], scope: Scope) -> str:
    """One group's respondents in every wave ('' when it has none in any)."""
    breakdown, service_id, group_id, who = place
    found = {w: by_cell.get((breakdown, service_id, group_id, w)) for w in scope.waves}
    if not any(found.values()):
        return ""
    tds = []
    for wave, cell in found.items():
        if cell is None:
            tds.append('<td class="small">none</td>')
            continue
        scope.page.count(cell, f"Respondents: {who}", wave)
        if cell["suppressed"]:
            tds.append(
                f'<td class="withheld" title="{escape(cell["suppression_reason"] or "")}">'
                f"{WITHHELD}<sup>{scope.page.mark(cell['suppression_reason'])}</sup></td>"
            )
        else:
            tds.append(f"<td>{_n(cell['n_respondents'])}</td>")
    return f'<tr><th scope="row">{escape(who)}</th>{"".join(tds)}</tr>'


def _gap_section(
    gap: pl.DataFrame | None, organisation_id: str, catalogue: dict[str, list[dict]], scope: Scope
) -> str:
    waves, group_labels, wording = scope.waves, scope.group_labels, scope.wording
    out = ['<section id="gap"><h2>Managers and frontline staff</h2>']
    gap = gap.filter(pl.col("organisation_id") == organisation_id) if gap is not None else None
    if gap is None or gap.is_empty():
        out.append(
            '<p class="intro">No comparison of managers with frontline staff in this '
            "publication.</p></section>"
        )
        return "".join(out)
    higher, lower = gap["higher_group_id"][0], gap["lower_group_id"][0]
    higher_label = group_labels.get(higher, higher)
    lower_label = group_labels.get(lower, lower)
    out.append(
        f'<p class="intro">{escape(higher_label)} minus {escape(lower_label)}, in percentage '
        "points, for every measure both were asked: above zero, managers answered yes more "
        "often. ▲▼ a significant gap (two-proportion test, 5%). Each figure shows both groups' "
        "percentages with their n.</p>"
    )
    by_gap = {(r["measure_id"], r["wave"]): r for r in gap.iter_rows(named=True)}
    width = (100 - 31) / len(waves)
    head = (
        '<colgroup><col style="width:31%">'
        + "".join(f'<col style="width:{width:.2f}%">' for _ in waves)
        + "</colgroup><thead><tr><th>Measure</th>"
        + "".join(f"<th>{w}</th>" for w in waves)
        + "</tr></thead>"
    )
    rows = []
    for family, entries in catalogue.items():
        present = [e for e in entries if any((e["measure_id"], w) in by_gap for w in waves)]
        if not present:
            continue
        rows.append(
            f'<tr class="sub"><th colspan="{len(waves) + 1}">'
            f"{escape(SECTIONS.get(family, (family.capitalize(), ''))[0])}</th></tr>"
        )
        blocks = _blocks(present)
        for question, block in blocks:
            if question and len(blocks) > 1:
                rows.append(
                    f'<tr class="question"><th colspan="{len(waves) + 1}">'
                    f"“{escape(wording.wording(question) or question)}”</th></tr>"
                )
            rows += _gap_rows(block, by_gap, waves)
    out.append(
        f'<div class="scroll"><table class="gap">{head}<tbody>{"".join(rows)}</tbody></table>'
        "</div></section>"
    )
    return "".join(out)


def _gap_rows(entries: list[dict], by_gap: dict, waves: list[int]) -> list[str]:
    rows = []
    for entry in entries:
        tds = []
        for wave in waves:
            row = by_gap.get((entry["measure_id"], wave))
            if row is None:
                tds.append('<td class="small">not asked</td>')
                continue
            if row["suppressed"] or row["gap_pp"] is None:
                tds.append(f'<td class="withheld">{WITHHELD}</td>')
                continue
            sig = row["significant_vs_lower_group"]
            arrow = ("▲ " if row["gap_pp"] > 0 else "▼ ") if sig else ""
            bold = '<b class="sig">' if sig else "<b>"
            tds.append(
                f"<td>{bold}{arrow}{row['gap_pp']:+.1f} pts</b>"
                f' <span class="small">{_p(row["p_value_vs_lower_group"])}</span><br>'
                f'<span class="small">{row["pct_higher"]:.1f}% (n = {_n(row["n_higher"])}) vs '
                f"{row['pct_lower']:.1f}% (n = {_n(row['n_lower'])})</span></td>"
            )
        rows.append(
            f'<tr id="gap-{escape(entry["measure_id"])}"><th scope="row">'
            f"{escape(entry['label'])}</th>{''.join(tds)}</tr>"
        )
    return rows


def _headlines(
    catalogue: dict[str, list[dict]], scope: Scope, gap: pl.DataFrame | None, organisation_id: str
) -> str:
    by_cell, baseline, latest = scope.by_cell, scope.baseline, scope.latest
    group_labels, page = scope.group_labels, scope.page
    out = ['<section id="headlines" class="headlines"><h2>Headlines</h2>']
    if latest == baseline:
        out.append(f"<p>{baseline} is the baseline: changes are measured from the next survey.</p>")
    else:
        found = []
        for entries in catalogue.values():
            for entry in entries:
                rows = _rows_of(entry, scope)
                rows += [
                    Row(entry["measure_id"], c.breakdown, c.service_id, c.group_id, c.heading)
                    for _, columns in scope.service_tables
                    for c in columns
                ]
                for row in rows:
                    key = (row.measure_id, row.breakdown, row.service_id, row.group_id)
                    now, then = by_cell.get((*key, latest)), by_cell.get((*key, baseline))
                    if (
                        now
                        and then
                        and now.get("significant_vs_baseline")
                        and (now.get("change_pp_from_baseline") is not None)
                    ):
                        found.append((entry, row, now, then))
        found.sort(key=lambda f: (-abs(f[2]["change_pp_from_baseline"]), f[0]["label"], f[1].who))
        out.append(f"<h3>Largest significant changes since {baseline}</h3>")
        if found:
            items = []
            for entry, row, now, then in found[:HEADLINE_CHANGES]:
                change = now["change_pp_from_baseline"]
                who = "everyone asked" if row.who == EVERYONE else row.who
                p_text = _p(now.get("p_value_vs_baseline"))
                items.append(
                    f"<li><b>{escape(entry['full_label'])}</b> ({escape(who)}): "
                    f'<span class="sig">{"up" if change > 0 else "down"} {abs(change):.1f} '
                    f"points</span>, from {then['pct']:.1f}% (n = {_n(then['n'])}) in "
                    f"{baseline} to {now['pct']:.1f}% (n = {_n(now['n'])}) in {latest}"
                    f"{f' ({p_text})' if p_text else ''}.</li>"
                )
            more = len(found) - HEADLINE_CHANGES
            out.append(f"<ul>{''.join(items)}</ul>")
            if more > 0:
                out.append(
                    f'<p class="note">{more} more significant change{"s" if more > 1 else ""} '
                    "in the sections below (▲▼).</p>"
                )
        else:
            out.append(
                f"<p>No figure in this report changed significantly between {baseline} and "
                f"{latest}.</p>"
            )
    gap = gap.filter(pl.col("organisation_id") == organisation_id) if gap is not None else None
    if gap is not None and not gap.is_empty():
        widest = gap.filter(
            (pl.col("wave") == latest) & pl.col("significant_vs_lower_group").fill_null(False)
        )
        out.append("<h3>Managers and frontline staff</h3>")
        if widest.is_empty():
            out.append(f"<p>No significant gap between them in {latest}.</p>")
        else:
            top = widest.sort(pl.col("gap_pp").abs(), descending=True).row(0, named=True)
            labels = {e["measure_id"]: e["full_label"] for es in catalogue.values() for e in es}
            higher = group_labels.get(top["higher_group_id"], top["higher_group_id"])
            lower = group_labels.get(top["lower_group_id"], top["lower_group_id"])
            out.append(
                f"<p>Largest significant gap in {latest}: <b>"
                f"{escape(labels.get(top['measure_id'], top['measure_label']))}</b>, "
                f"{escape(higher)} {top['pct_higher']:.1f}% and {escape(lower)} "
                f"{top['pct_lower']:.1f}% ({top['gap_pp']:+.1f} points, "
                f"{_p(top['p_value_vs_lower_group'])}). "
                f"{widest.height} significant gap{'s' if widest.height > 1 else ''} in "
                f'{latest}: see <a href="#gap">Managers and frontline staff</a>.</p>'
            )
    out.append("<h3>Figures withheld</h3>")
    total = sum(len(w) for where in page.withheld.values() for w in where.values())
    if not total:
        out.append(f"<p>None of the {page.shown} figures in this report is withheld.</p>")
    else:
        out.append(
            f"<p>{total} of the {page.shown} figures in this report "
            f"{'is' if total == 1 else 'are'} withheld, so that no "
            "one who answered can be identified:</p><ul>"
        )
        for reason, places in page.withheld.items():
            count = sum(len(w) for w in places.values())
            listed = [
                f"{escape(where)} ({', '.join(map(str, sorted(set(w))))})"
                for where, w in places.items()
            ]
            shown = "; ".join(listed[:8]) + (
                f"; and {len(listed) - 8} more" if len(listed) > 8 else ""
            )
            out.append(
                f"<li><sup>{page.mark(reason)}</sup> <b>{escape(reason.capitalize())}</b>: "
                f"{count} figure{'s' if count > 1 else ''}, in {shown}.</li>"
            )
        out.append("</ul>")
    out.append("</section>")
    return "".join(out)


def _how_to_read(baseline: int, page: Page, group_labels: dict) -> str:
    marks = "; ".join(f"<sup>{mark}</sup> {escape(reason)}" for reason, mark in page.marks.items())
    groups = "; ".join(
        f"{escape(short)}: {escape(group_labels.get(group, short))}"
        for group, short in ROLLUPS.items()
    )
    return (
        '<section id="how-to-read"><h2>How to read this report</h2><p class="key">'
        "Each figure is the percentage of people who answered that counted, then how many "
        "answered (n), then the range the true figure lies in with 95% confidence. "
        f"{EVERYONE}: everyone the question was put to; {groups}. The small "
        f"chart shows the same figures across the years; the dashed line marks the baseline "
        f'({baseline}). <span class="sig">Orange ▲▼</span>: changed significantly since the '
        "baseline (two-proportion test, 5%): unlikely to be chance. Changes are in percentage "
        "points (pts). <sup>†</sup> and a hollow point: the question was reworded and cannot "
        "be compared with the baseline. <i>withheld</i>: not published to protect the people "
        f"who answered{': ' + marks if marks else ''}.</p></section>"
    )


def _publication_line(provenance: Provenance | None) -> str:
    if provenance is None:
        text = "Not yet published: drawn outside a pipeline run."
    else:
        text = (
            f"Publication {escape(provenance.publication)}, published "
            f"{_date(provenance.published_at)}."
        )
    return f"<!--publication-->{text}<!--/publication-->"


def _date(moment: dt.datetime) -> str:
    moment = moment.astimezone(dt.UTC)
    return f"{moment.day} {moment:%B %Y}, {moment:%H:%M} UTC"


def _footer(provenance: Provenance | None, organisation_id: str) -> str:
    return (
        '<footer class="provenance" id="about"><h2>About this publication</h2>'
        f"{_sources(provenance, organisation_id)}"
        "<p>Every figure comes from the published marts (mart_measures, mart_measure_changes, "
        "mart_manager_frontline_gap) after small numbers are withheld: this page shows nothing "
        "that they do not. Every wave of every group and service is in those marts.</p>"
        "</footer>"
    )


def _sources(provenance: Provenance | None, organisation_id: str) -> str:
    if provenance is None:
        text = "<p>Publication: not yet published (drawn outside a pipeline run).</p>"
        return f"<!--sources-->{text}<!--/sources-->"
    files = [f for f in provenance.source_files if f.get("organisation_id") == organisation_id]
    rows = "".join(
        f"<tr><td>{escape(str(f.get('file_name')))}</td><td>{escape(str(f.get('wave', '')))}</td>"
        f"<td>{escape(str(f.get('tool') or ''))}</td>"
        f"<td>{escape(str(f.get('responses_accepted', '')))}</td>"
        f"<td><code>{escape(str(f.get('file_sha256') or '')[:12])}</code></td></tr>"
        for f in sorted(files, key=lambda f: (str(f.get("wave")), str(f.get("file_name"))))
    )
    text = (
        f"<p>Publication <b>{escape(provenance.publication)}</b>, published "
        f"{_date(provenance.published_at)}. The publication's manifest.json, beside the marts, "
        "carries the same id and lists every source file with its whole sha256.</p>"
        '<table class="sources"><caption>Survey files behind this report</caption><thead><tr>'
        "<th>File</th><th>Wave</th><th>Tool</th><th>Responses used</th>"
        f"<th>sha256 (first 12)</th></tr></thead><tbody>{rows}</tbody></table>"
    )
    return f"<!--sources-->{text}<!--/sources-->"


_PUBLICATION = re.compile(r"<!--publication-->.*?<!--/publication-->", re.S)
_SOURCES = re.compile(r"<!--sources-->.*?<!--/sources-->", re.S)


def _with_provenance(html: str, provenance: Provenance | None, organisation_id: str) -> str:
    """A page drawn before, saying which publication it now belongs to."""
    html = _PUBLICATION.sub(lambda _: _publication_line(provenance), html, count=1)
    return _SOURCES.sub(lambda _: _sources(provenance, organisation_id), html, count=1)


# ---------------------------------------------------------------------------------------------
# Writing the pages of a publication


@dataclass(frozen=True)
class WrittenReports:
    paths: list[Path]
    reused: int  # organisations whose rows did not change: their page kept, not redrawn


def report_provenance(
    marts_dir: Path,
    staged: list,
    source_files: list[dict],
    now: dt.datetime | None = None,
) -> Provenance:
    """The publication the pages being drawn will belong to. When the staged marts (`staged`:
    publication.StagedMart), the source files and the report code are those of the current
    publication, the pages come out as they are in it and promote() keeps it: they name it.
    Otherwise they name a new publication at `now`, whose id promote() makes from the same
    time (publication_time) and the same basis (report_basis)."""
    from pipelines.publication import current_manifest, new_publication_id

    sources = tuple(json.loads(json.dumps(source_files, default=str)))  # as the manifest has them
    previous = current_manifest(marts_dir)
    code_file = marts_dir / "reports" / REPORT_CODE_FILE
    if (
        previous
        and {m.name: m.sha256 for m in staged}
        == {n: e.get("content_sha256", e["sha256"]) for n, e in previous["marts"].items()}
        and list(sources) == previous.get("source_files")
        and code_file.exists()
        and code_file.read_text() == report_code()
    ):
        return Provenance(
            previous["publication_id"],
            dt.datetime.fromisoformat(previous["published_at"]),
            sources,
        )
    now = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    return Provenance(new_publication_id(now, staged, report_basis(sources)), now, sources)


def report_basis(source_files: list[dict] | tuple[dict, ...]) -> str:
    """What a publication's pages are drawn from besides its marts: the drawing code and wording,
    and the source files their footers list. Part of the publication id (new_publication_id)."""
    return report_code() + json.dumps(list(source_files), sort_keys=True, default=str)


def publication_time(reports_dir: Path) -> dt.datetime | None:
    """When the publication the pages in `reports_dir` name was made (for promote's `now`)."""
    path = reports_dir / PUBLICATION_FILE
    if not path.exists():
        return None
    return dt.datetime.fromisoformat(json.loads(path.read_text())["published_at"])


def write_reports(
    marts_dir: Path,
    out_dir: Path,
    previous_dir: Path | None = None,
    provenance: Provenance | None = None,
) -> WrittenReports:
    """One page per organisation. An organisation whose mart rows are exactly those of the
    previous publication (`previous_dir`), drawn by the same code and reference wording, keeps
    its page (only the publication it names is brought up to date): a run redraws only the
    organisations whose data changed."""
    measures, changes, gap, respondents = _read_marts(marts_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    code = report_code()
    previous = _previous_rows(previous_dir, code)
    # Split once by organisation: filtering the whole marts per organisation would cost
    # organisations x rows.
    changes_by_org = changes.partition_by("organisation_id", as_dict=True)
    gap_by_org = gap.partition_by("organisation_id", as_dict=True)
    respondents_by_org = respondents.partition_by("organisation_id", as_dict=True)
    paths, reused = [], 0
    for (organisation_id,), own in sorted(
        measures.partition_by("organisation_id", as_dict=True).items()
    ):
        own_changes = changes_by_org.get((organisation_id,), changes.clear())
        own_gap = gap_by_org.get((organisation_id,), gap.clear())
        own_respondents = respondents_by_org.get((organisation_id,), respondents.clear())
        path = out_dir / f"{organisation_id}.html"
        before = previous.get(organisation_id)
        now = (own, own_changes, own_gap, own_respondents)
        if before and all(a.equals(b) for a, b in zip(before[:4], now, strict=True)):
            page = _with_provenance(
                before[4].read_text(encoding="utf-8"), provenance, organisation_id
            )
            reused += 1
        else:
            page = build_report(
                own, own_changes, organisation_id, own_gap, provenance, respondents=own_respondents
            )
        path.write_text(page, encoding="utf-8")
        paths.append(path)
    (out_dir / REPORT_CODE_FILE).write_text(code)
    if provenance is not None:
        (out_dir / PUBLICATION_FILE).write_text(
            json.dumps(
                {
                    "publication": provenance.publication,
                    "published_at": provenance.published_at.isoformat(),
                }
            )
        )
    return WrittenReports(paths, reused)


def _read_marts(marts_dir: Path) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The marts a page is drawn from: measures, changes, the gap and the respondent counts
    (the last two may be missing from an older publication)."""

    def optional(name: str) -> pl.DataFrame:
        path = marts_dir / f"{name}.parquet"
        return (
            pl.read_parquet(path)
            if path.exists()
            else pl.DataFrame(schema={"organisation_id": pl.String})
        )

    measures = pl.read_parquet(marts_dir / "mart_measures.parquet")
    changes = pl.read_parquet(marts_dir / "mart_measure_changes.parquet")
    return measures, changes, optional("mart_manager_frontline_gap"), optional("mart_respondents")


def _previous_rows(
    previous_dir: Path | None, code: str
) -> dict[str, tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame, Path]]:
    """Per organisation: its rows of the previous publication's marts and its page there."""
    if previous_dir is None:
        return {}
    code_file = previous_dir / "reports" / REPORT_CODE_FILE
    if not code_file.exists() or code_file.read_text() != code:
        return {}
    measures, changes, gap, respondents = _read_marts(previous_dir)
    changes_by_org = changes.partition_by("organisation_id", as_dict=True)
    gap_by_org = gap.partition_by("organisation_id", as_dict=True)
    respondents_by_org = respondents.partition_by("organisation_id", as_dict=True)
    previous = {}
    for (organisation_id,), own in measures.partition_by("organisation_id", as_dict=True).items():
        page = previous_dir / "reports" / f"{organisation_id}.html"
        if page.exists():
            previous[organisation_id] = (
                own,
                changes_by_org.get((organisation_id,), changes.clear()),
                gap_by_org.get((organisation_id,), gap.clear()),
                respondents_by_org.get((organisation_id,), respondents.clear()),
                page,
            )
    return previous
