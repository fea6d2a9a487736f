"""The HTML report a co-production lead opens, prints or reads on a tablet: every figure printed
with its n, intervals, the baseline, significant changes, withheld cells and why, plain words
from the reference data, the manager-frontline gap, the publication and its source files, and
nothing that needs the internet."""

from __future__ import annotations

import datetime as dt
import json
import re
from types import SimpleNamespace

import polars as pl
import pytest

from pipelines.publication import new_publication_id
from pipelines.report import (
    REPORT_CODE_FILE,
    Provenance,
    build_report,
    publication_time,
    report_basis,
    report_code,
    report_provenance,
    write_reports,
)


def cells(**overrides) -> dict:
    row = {
        "organisation_id": "org",
        "organisation_name": "Org & Co",
        "breakdown": "organisation",
        "service_id": "all",
        "service_name": "All services",
        "group_id": "all",
        "measure_id": "aware",
        "measure_label": "Had heard of co-production",
        "measure_family": "awareness",
        "question_versions": ["1"],
        "is_baseline": False,
        "n": 40,
        "k": 20,
        "pct": 50.0,
        "ci_low": 35.2,
        "ci_high": 64.8,
        "suppressed": False,
        "suppression_reason": None,
    }
    return {**row, **overrides}


WITHHELD = {"n": None, "k": None, "pct": None, "ci_low": None, "ci_high": None, "suppressed": True}
SAY = {
    "measure_id": "have_a_say",
    "measure_label": "I have a say",
    "measure_family": "involvement",
}


def change(**overrides) -> dict:
    row = {
        "organisation_id": "org",
        "wave": 2025,
        "breakdown": "organisation",
        "service_id": "all",
        "group_id": "all",
        "measure_id": "aware",
        "change_pp_from_baseline": None,
        "p_value_vs_baseline": None,
        "significant_vs_baseline": None,
        "comparable_with_baseline": True,
        "note": None,
    }
    return {**row, **overrides}


@pytest.fixture
def marts() -> tuple[pl.DataFrame, pl.DataFrame]:
    day = {"breakdown": "service", "service_id": "day", "service_name": "Day Centre"}
    home = {"breakdown": "service", "service_id": "home", "service_name": "Home Support"}
    lived = {"breakdown": "organisation_rollup", "group_id": "lived_experience"}
    measures = pl.DataFrame(
        [
            cells(wave=2024, is_baseline=True),
            cells(wave=2025, pct=75.0, ci_low=59.8, ci_high=85.8, k=30),
            # 7 of 12 in 2025: Wilson 95% interval 32.0 to 80.7
            cells(wave=2024, is_baseline=True, **lived, **WITHHELD,
                  suppression_reason="fewer than 10 valid answers"),
            cells(wave=2025, **lived, n=12, k=7, pct=58.3, ci_low=32.0, ci_high=80.7),
            cells(wave=2024, is_baseline=True, **day, **WITHHELD,
                  suppression_reason="fewer than 10 valid answers"),
            cells(wave=2025, **day),
            cells(wave=2024, is_baseline=True, **home),
            cells(wave=2025, **home, **WITHHELD, suppression_reason=(
                "secondary: protects a withheld cell among services of organisation")),
            cells(wave=2024, is_baseline=True, **SAY),
            cells(wave=2025, **SAY, question_versions=["2"]),
        ]
    )  # fmt: skip
    changes = pl.DataFrame(
        [
            change(change_pp_from_baseline=25.0, p_value_vs_baseline=0.0209,
                   significant_vs_baseline=True),
            change(measure_id="have_a_say", comparable_with_baseline=False),
            change(breakdown="organisation_rollup", group_id="lived_experience",
                   note="withheld: the baseline cell is suppressed"),
            change(breakdown="service", service_id="day",
                   note="withheld: the baseline cell is suppressed"),
        ]
    )  # fmt: skip
    return measures, changes


def figure(html: str, measure_id: str) -> str:
    return html.split(f'<figure class="measure" id="{measure_id}">')[1].split("</figure>")[0]


def test_one_row_group_per_measure_with_intervals_baseline_and_significance(marts):
    html = build_report(*marts, "org")
    assert re.findall(r'<figure class="measure" id="([^"]+)"', html) == ["aware", "have_a_say"]
    assert "<h1>Org &amp; Co</h1>" in html
    aware = figure(html, "aware")
    # Everyone asked, and the lived-experience roll-up (whose figures differ from everyone's)
    assert re.findall(r'<td class="who">([^<]+)</td>', aware) == [
        "Everyone asked",
        "Lived experience",
    ]
    assert aware.count('class="spark"') == 2
    assert aware.count('class="ci"') == 3  # every published point has its interval
    assert aware.count('class="baseline"') == 2
    assert aware.count('class="point significant"') == 1
    assert "2025: 75.0% (59.8 to 85.8), n = 40; +25.0 points from baseline, p = 0.0209" in aware
    # Printed, not only on hover: each figure with its n and interval, the change and its p.
    assert (
        '<td class="value sig"><b>75.0%</b> <span class="n">n = 40</span><br>'
        '<span class="interval">59.8 to 85.8</span></td>'
    ) in aware
    assert '<b>50.0%</b> <span class="n">n = 40</span>' in aware  # the baseline
    assert '<b>58.3%</b> <span class="n">n = 12</span>' in aware
    assert '<span class="sig">▲ +25.0 pts</span><br><span class="small">p = 0.0209</span>' in aware


def test_withheld_and_not_comparable_cells_are_shown_as_such(marts):
    html = build_report(*marts, "org")
    aware = figure(html, "aware")
    # The lived-experience baseline: its cross in the chart, and its cell
    assert aware.count('class="suppressed"') == 2
    assert "2024: withheld (fewer than 10 valid answers)" in aware
    assert (
        'title="fewer than 10 valid answers"><span class="suppressed">withheld</span>'
        "<sup>a</sup></td>"
    ) in aware
    assert "not computed: a figure is withheld" in aware  # its change since the baseline
    services = html.split('id="aware-by-service">')[1].split("</tr>")[0]
    assert re.findall(r"<td[^>]*>(.*?)</td>", services) == [
        '<b>50.0%</b> <span class="small">n = 40</span> · '
        '<span class="small">not computed: a figure is withheld</span>',
        '<span class="suppressed">withheld</span><sup>b</sup>',
    ]
    # The headline says how many figures are withheld, why, and where.
    assert "2 of the 8 figures in this report are withheld" in html
    assert (
        "<li><sup>a</sup> <b>Fewer than 10 valid answers</b>: 1 figure, in Had heard of "
        "co-production: Lived experience (2024).</li>"
    ) in html
    assert (
        "<li><sup>b</sup> <b>Withheld so that another withheld figure cannot be worked out "
        "from the totals</b>: 1 figure, in Had heard of co-production: Home Support (2025).</li>"
    ) in html
    say = figure(html, "have_a_say")
    assert say.count('class="point not-comparable"') == 1
    assert "wording changed, not comparable with baseline" in say
    assert "<b>50.0%</b><sup>†</sup>" in say
    assert "reworded: not comparable" in say
    # The question's wording, and its new wording from the wave it changed (reference seeds)
    assert (
        "Asked: “I have a say in how my support is designed and delivered”; from 2025: "
        "“I help decide how the services I use are run”."
    ) in say


def test_the_headline_names_the_largest_significant_changes(marts):
    html = build_report(*marts, "org")
    headlines = html.split('<section id="headlines"')[1].split("</section>")[0]
    assert (
        "<li><b>Had heard of co-production</b> (everyone asked): "
        '<span class="sig">up 25.0 points</span>, from 50.0% (n = 40) in 2024 to 75.0% '
        "(n = 40) in 2025 (p = 0.0209).</li>"
    ) in headlines
    assert headlines.count("<li><b>") == 1  # the only significant change


def test_a_table_of_contents_links_every_section(marts):
    html = build_report(*marts, "org")
    toc = html.split('<nav class="toc"')[1].split("</nav>")[0]
    anchors = re.findall(r'href="#([^"]+)"', toc)
    assert anchors == [
        "headlines",
        "how-to-read",
        "s-awareness",
        "s-involvement",
        "gap",
        "about",
    ]
    assert all(f'id="{anchor}"' in html for anchor in anchors)


def test_the_page_needs_no_network(marts):
    html = build_report(*marts, "org")
    assert not re.search(r"<script|https?://|<link", html)
    assert "@media print" in html


def test_labels_are_plain_words_from_the_reference_data(marts):
    measures, changes = marts
    more = [
        cells(wave=w, is_baseline=w == 2024, measure_id=m, measure_label=label, measure_family=f)
        for w in (2024, 2025)
        for m, label, f in (
            ("barrier_time", "Barrier: time", "barrier"),
            ("theme_cp_benefit__better_services", "Benefits of co-production (open): Better services", "theme"),
        )
    ]  # fmt: skip
    html = build_report(pl.concat([measures, pl.DataFrame(more)]), changes, "org")
    assert "<h2>What gets in the way</h2>" in html
    assert "<h3>“What gets in the way of co-production? (select all that apply)”</h3>" in html
    assert '<span class="label">Time</span>' in figure(html, "barrier_time")
    assert "<h2>In their own words</h2>" in html
    assert "<h3>“What are the benefits of co-production?”</h3>" in html
    theme = figure(html, "theme_cp_benefit__better_services")
    assert '<span class="label">Better services</span>' in theme
    text = re.sub(r"<[^>]+>", " ", html)
    assert not re.search(r"\bTheme\b|\(open\)|Barrier", text)


@pytest.fixture
def gap() -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "organisation_id": "org",
                "organisation_name": "Org & Co",
                "wave": 2025,
                "measure_id": "aware",
                "measure_label": "Had heard of co-production",
                "higher_group_id": "senior_manager",
                "lower_group_id": "frontline",
                "n_higher": 15,
                "pct_higher": 60.0,
                "n_lower": 25,
                "pct_lower": 40.0,
                "gap_pp": 20.0,
                "p_value_vs_lower_group": 0.2113,
                "significant_vs_lower_group": False,
                "suppressed": False,
            },
            {
                "organisation_id": "org",
                "organisation_name": "Org & Co",
                "wave": 2024,
                "measure_id": "aware",
                "measure_label": "Had heard of co-production",
                "higher_group_id": "senior_manager",
                "lower_group_id": "frontline",
                "n_higher": None,
                "pct_higher": None,
                "n_lower": None,
                "pct_lower": None,
                "gap_pp": None,
                "p_value_vs_lower_group": None,
                "significant_vs_lower_group": None,
                "suppressed": True,
            },
        ]
    )


def with_roles(measures: pl.DataFrame) -> pl.DataFrame:
    """The marts' managers and frontline workers (shown only in the gap section)."""
    roles = {"breakdown": "organisation_group"}
    groups = pl.DataFrame(
        [
            # 9 of 15 managers and 10 of 25 frontline workers in 2025: 60.0% and 40.0%
            cells(wave=2025, **roles, group_id="senior_manager", n=15, k=9, pct=60.0,
                  ci_low=35.7, ci_high=80.2),
            cells(wave=2025, **roles, group_id="frontline", n=25, k=10, pct=40.0,
                  ci_low=23.4, ci_high=59.3),
        ]
    )  # fmt: skip
    labels = {"senior_manager": "Senior leader or manager", "frontline": "Frontline worker"}
    return pl.concat([measures, groups], how="diagonal").with_columns(
        group_label=pl.col("group_id").replace_strict(labels, default=None)
    )


def test_the_gap_section_shows_managers_and_frontline_with_their_n(marts, gap):
    measures, changes = marts
    html = build_report(with_roles(measures), changes, "org", gap)
    section = html.split('<section id="gap">')[1].split("</section>")[0]
    assert "Senior leader or manager minus Frontline worker" in section
    row = section.split('<tr id="gap-aware">')[1].split("</tr>")[0]
    assert re.findall(r"<td[^>]*>(.*?)</td>", row) == [
        '<span class="suppressed">withheld</span>',
        '<b>+20.0 pts</b> <span class="small">p = 0.2113</span><br>'
        '<span class="small">60.0% (n = 15) vs 40.0% (n = 25)</span>',
    ]
    assert "<p>No significant gap between them in 2025.</p>" in html  # the headline
    # Roles are not otherwise shown: the page's withheld count is unchanged by them.
    assert "2 of the 8 figures in this report are withheld" in html
    assert "No comparison of managers with frontline staff" in build_report(*marts, "org")


def test_a_significant_gap_makes_the_headline(marts, gap):
    measures, changes = marts
    significant = gap.with_columns(
        significant_vs_lower_group=pl.when(pl.col("wave") == 2025).then(True).otherwise(None),
        p_value_vs_lower_group=pl.when(pl.col("wave") == 2025).then(0.0123).otherwise(None),
    )
    html = build_report(with_roles(measures), changes, "org", significant)
    assert (
        "Largest significant gap in 2025: <b>Had heard of co-production</b>, Senior leader or "
        "manager 60.0% and Frontline worker 40.0% (+20.0 points, p = 0.0123)."
    ) in html
    assert '<b class="sig">▲ +20.0 pts</b>' in html


PROVENANCE = Provenance(
    "20260301T101500Z-1a2b3c4d",
    dt.datetime(2026, 3, 1, 10, 15, tzinfo=dt.UTC),
    (
        {"file_name": "org_2024.csv", "file_sha256": "ab" * 32, "organisation_id": "org",
         "wave": 2024, "tool": "template", "responses_accepted": 40},
        {"file_name": "org_2025.csv", "file_sha256": "cd" * 32, "organisation_id": "org",
         "wave": 2025, "tool": "qualtrics", "responses_accepted": 41},
        {"file_name": "other_2025.csv", "file_sha256": "ef" * 32, "organisation_id": "other",
         "wave": 2025, "tool": "qualtrics", "responses_accepted": 9},
    ),
)  # fmt: skip


def test_the_footer_names_the_publication_and_the_organisations_source_files(marts):
    html = build_report(*marts, "org", provenance=PROVENANCE)
    assert "Publication 20260301T101500Z-1a2b3c4d, published 1 March 2026, 10:15 UTC." in html
    footer = html.split('<footer class="provenance" id="about">')[1].split("</footer>")[0]
    assert (
        "Publication <b>20260301T101500Z-1a2b3c4d</b>, published 1 March 2026, 10:15 UTC."
    ) in footer
    rows = re.findall(r"<tr><td>(.*?)</td></tr>", footer)
    assert rows == [
        "org_2024.csv</td><td>2024</td><td>template</td><td>40</td><td><code>abababababab</code>",
        "org_2025.csv</td><td>2025</td><td>qualtrics</td><td>41</td><td><code>cdcdcdcdcdcd</code>",
    ]  # another organisation's files are not listed
    unpublished = build_report(*marts, "org")
    assert "Not yet published: drawn outside a pipeline run." in unpublished


def test_a_change_with_no_variance_has_no_p_value(marts):
    measures, changes = marts
    none_ever = [
        cells(
            wave=w,
            measure_id="practice_payment_offered",
            measure_label="Paid",
            measure_family="practice",
            is_baseline=w == 2024,
            k=0,
            pct=0.0,
            ci_low=0.0,
            ci_high=8.8,
        )
        for w in (2024, 2025)
    ]
    changes = pl.concat(
        [
            changes,
            pl.DataFrame(
                [
                    change(
                        measure_id="practice_payment_offered",
                        change_pp_from_baseline=0.0,
                        significant_vs_baseline=False,
                    )
                ]
            ),
        ]
    )
    html = build_report(pl.concat([measures, pl.DataFrame(none_ever)]), changes, "org")
    paid = figure(html, "practice_payment_offered")
    assert "2025: 0.0% (0.0 to 8.8), n = 40; +0.0 points from baseline</title>" in paid
    assert '<td class="change">+0.0 pts</td>' in paid
    assert "Payment or recognition offered up front" in paid  # the reference label


def test_an_organisation_whose_rows_did_not_change_keeps_its_page(marts, tmp_path):
    measures, changes = marts
    previous = tmp_path / "previous"
    (previous / "reports").mkdir(parents=True)
    measures.write_parquet(previous / "mart_measures.parquet")
    changes.write_parquet(previous / "mart_measure_changes.parquet")
    first = write_reports(previous, previous / "reports")
    assert (first.reused, [p.name for p in first.paths]) == (0, ["org.html"])

    staged = tmp_path / "staged"
    staged.mkdir()
    measures.write_parquet(staged / "mart_measures.parquet")
    changes.write_parquet(staged / "mart_measure_changes.parquet")
    again = write_reports(staged, staged / "reports", previous)
    assert again.reused == 1
    assert again.paths[0].read_bytes() == first.paths[0].read_bytes()

    # A new publication: the page is kept and names it, exactly as if it were drawn again.
    named = write_reports(staged, staged / "reports", previous, PROVENANCE)
    assert named.reused == 1
    assert named.paths[0].read_text() == build_report(measures, changes, "org", None, PROVENANCE)
    assert publication_time(staged / "reports") == PROVENANCE.published_at

    # One published figure changes: the page is drawn again and shows it.
    revised = measures.with_columns(
        pl.when(pl.col("wave") == 2025).then(pl.col("n") + 1).otherwise(pl.col("n")).alias("n")
    )
    revised.write_parquet(staged / "mart_measures.parquet")
    redrawn = write_reports(staged, staged / "reports", previous)
    assert redrawn.reused == 0
    assert "n = 41" in redrawn.paths[0].read_text()


def test_pages_name_the_current_publication_only_when_promote_will_keep_it(tmp_path):
    marts = tmp_path / "marts"
    (marts / "reports").mkdir(parents=True)
    sources = [{"file_name": "org_2024.csv", "file_sha256": "ab" * 32, "wave": 2024}]
    manifest = {
        "publication_id": "20260301T101500Z-1a2b3c4d",
        "published_at": "2026-03-01T10:15:00+00:00",
        "source_files": sources,
        "marts": {"mart_measures": {"sha256": "stamped", "content_sha256": "rows"}},
    }
    (marts / "manifest.json").write_text(json.dumps(manifest))
    (marts / "reports" / REPORT_CODE_FILE).write_text(report_code())
    staged = [SimpleNamespace(name="mart_measures", sha256="rows")]
    later = dt.datetime(2026, 4, 2, 8, 30, 5, 123456, tzinfo=dt.UTC)

    same = report_provenance(marts, staged, sources, now=later)
    assert (same.publication, same.published_at) == (
        "20260301T101500Z-1a2b3c4d",
        dt.datetime(2026, 3, 1, 10, 15, tzinfo=dt.UTC),
    )
    # A new publication: its id is the one promote() will make from the same time and basis,
    # and its digest tells apart new rows, a new source file and new drawing code.
    changed_rows = [SimpleNamespace(name="mart_measures", sha256="other rows")]
    changed = report_provenance(marts, changed_rows, sources, now=later)
    assert changed.published_at == later.replace(microsecond=0)
    assert changed.publication == new_publication_id(
        later.replace(microsecond=0), changed_rows, report_basis(sources)
    )
    assert re.fullmatch(r"20260402T083005Z-[0-9a-f]{8}", changed.publication)
    other_file = [{**sources[0], "file_sha256": "cd" * 32}]
    by_file = report_provenance(marts, staged, other_file, now=later).publication
    (marts / "reports" / REPORT_CODE_FILE).write_text("older code")
    by_code = report_provenance(marts, staged, sources, now=later).publication
    assert len({changed.publication, by_file, by_code}) == 3
    assert {by_file[:17], by_code[:17]} == {"20260402T083005Z-"}
