"""Each survey tool's export, in that tool's exact layout, read by the one reader.

Every fixture carries the mess real exports do (personal columns, preview rows, Excel's
encodings, "Other" text, typed service names) and each test checks values by hand.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import openpyxl
import polars as pl
import pyreadstat
import pytest

from pipelines.ingest.answers import split_options
from pipelines.ingest.errors import UnreadableExport
from pipelines.ingest.reader import ParsedExport, ReadContext, read_export
from pipelines.reference import ReferenceData, load_reference
from pipelines.registry import load_registry
from tests.builders import only_registration

REGISTRY = """
organisations:
  - id: riverside
    type: voluntary_sector
    services:
      - {id: outreach, name: Community Outreach, aliases: [Outreach team]}
      - {id: harm_reduction, name: Harm Reduction, aliases: [Needle Exchange]}
  - id: oakfield
    type: private_provider
    services:
      - {id: oakfield_house, name: Oakfield House}
      - {id: meadow_view, name: Meadow View}
exports:
  - {file: "qualtrics*.csv", organisation: riverside, wave: 2024, tool: qualtrics, instrument: qualtrics_coprod_v1}
  - {file: "surveymonkey*", organisation: oakfield, wave: 2025, tool: surveymonkey, instrument: surveymonkey_coprod_v1}
  - {file: "msforms*.xlsx", organisation: oakfield, wave: 2025, tool: microsoft_forms, instrument: microsoft_forms_coprod_v1}
  - {file: "staff_only*.xlsx", organisation: oakfield, wave: 2025, tool: microsoft_forms, instrument: microsoft_forms_coprod_v1, respondent_group: frontline}
  - {file: "google_2025.csv", organisation: oakfield, wave: 2025, tool: google_forms, instrument: google_forms_coprod_v1}
  - {file: "google_uk*.csv", organisation: oakfield, wave: 2025, tool: google_forms, instrument: google_forms_coprod_v1, date_order: DMY}
  - {file: "spss*.sav", organisation: riverside, wave: 2024, tool: spss, instrument: qualtrics_coprod_v1}
  - {file: "template*", organisation: riverside, wave: 2024, tool: template, instrument: coprod_template_v1}
  - {file: "auto*", organisation: riverside, wave: 2024, tool: auto, instrument: qualtrics_coprod_v1}
"""


@pytest.fixture
def read(tmp_path: Path):
    registry_file = tmp_path / "sources.yml"
    registry_file.write_text(REGISTRY)
    registry = load_registry(registry_file)
    ctx = ReadContext(every_column_optional(), registry, b"test-key", ("Jo Bloggs",))

    def _read(name: str, content: bytes | None = None) -> ParsedExport:
        path = tmp_path / name
        if content is not None:
            path.write_bytes(content)
        return read_export(path, only_registration(registry, name), ctx)

    return _read


def every_column_optional() -> ReferenceData:
    """The reference data with no column required: each fixture here carries only the columns
    its test is about (the required-columns rule has its own test)."""
    reference = load_reference()
    return dataclasses.replace(
        reference,
        instrument_columns=reference.instrument_columns.with_columns(optional=pl.lit("yes")),
    )


def codes(parsed: ParsedExport, question: str) -> list[list[str]]:
    """Chosen option codes per response, in file order."""
    joined = parsed.responses.select("row_number", "response_key").join(
        parsed.answers.filter(pl.col("question_id") == question), on="response_key", how="left"
    )
    grouped = joined.group_by("row_number", maintain_order=True).agg(pl.col("option_code").sort())
    return [[c for c in row if c is not None] for row in grouped["option_code"].to_list()]


QUALTRICS = (
    "StartDate,EndDate,Status,IPAddress,Progress,Duration (in seconds),Finished,RecordedDate,"
    "ResponseId,RecipientLastName,RecipientFirstName,RecipientEmail,ExternalReference,"
    "LocationLatitude,LocationLongitude,DistributionChannel,UserLanguage,Q_SERVICE,Q_ROLE,QID1,"
    "QID6,QID6_9_TEXT,QID13\r\n"
    "Start Date,End Date,Response Type,IP Address,Progress,Duration (in seconds),Finished,"
    "Recorded Date,Response ID,Recipient Last Name,Recipient First Name,Recipient Email,"
    "External Data Reference,Location Latitude,Location Longitude,Distribution Channel,"
    "User Language,Which service?,Which best describes you?,Before today had you heard of "
    "co-production?,What gets in the way?,What gets in the way? - Other - Text,Challenges?\r\n"
    '"{""ImportId"":""startDate"",""timeZone"":""Europe/London""}","{""ImportId"":""endDate"",'
    '""timeZone"":""Europe/London""}","{""ImportId"":""status""}","{""ImportId"":""ipAddress""}",'
    '"{""ImportId"":""progress""}","{""ImportId"":""duration""}","{""ImportId"":""finished""}",'
    '"{""ImportId"":""recordedDate"",""timeZone"":""Europe/London""}","{""ImportId"":""_recordId""}",'
    '"{""ImportId"":""recipientLastName""}","{""ImportId"":""recipientFirstName""}",'
    '"{""ImportId"":""recipientEmail""}","{""ImportId"":""externalDataReference""}",'
    '"{""ImportId"":""locationLatitude""}","{""ImportId"":""locationLongitude""}",'
    '"{""ImportId"":""distributionChannel""}","{""ImportId"":""userLanguage""}",'
    '"{""ImportId"":""QID20""}","{""ImportId"":""QID21""}","{""ImportId"":""QID1""}",'
    '"{""ImportId"":""QID6""}","{""ImportId"":""QID6_9_TEXT""}","{""ImportId"":""QID13""}"\r\n'
    "2024-03-04 09:00:00,2024-03-04 09:10:00,IP Address,192.0.2.7,100,600,True,"
    "2024-03-04 09:10:00,R_1,Bloggs,Jo,jo@example.org,REF-1,53.48,-2.24,email,EN,"
    'Outreach team,Frontline worker,Yes,"Time,Other","Rotas, and email me at a.b@example.org",'
    "Ask Jo Bloggs on 07700 900123\r\n"
    "2024-03-04 09:00:00,2024-03-04 09:10:00,Survey Preview,,100,60,True,2024-03-04 09:10:00,"
    "R_2,,,,,,,preview,EN,Outreach team,Frontline worker,Yes,Time,,\r\n"
    "2024-03-05 09:00:00,2024-03-05 09:01:00,IP Address,192.0.2.8,40,60,False,"
    "2024-03-05 09:01:00,R_3,Smith,Sam,sam@example.org,REF-3,53.48,-2.24,email,EN,"
    "Outreach team,Manager,No,,,\r\n"
    "2024-07-01 09:50:00,2024-07-01 10:00:00,IP Address,192.0.2.9,100,600,True,"
    "2024-07-01 10:00:00,R_4,Smith,Sam,sam@example.org,REF-4,53.48,-2.24,email,EN,"
    '  needle  exchange ,Manager,Not sure,"Cost,Power imbalance",,\r\n'
    "2024-07-02 09:50:00,2024-07-02 10:00:00,Survey Test,,100,600,True,2024-07-02 10:00:00,R_5,"
    ",,,,,,test,EN,Outreach team,Manager,Yes,,,\r\n"
)


def test_qualtrics_export_keeps_real_finished_responses_only(read):
    parsed = read("qualtrics_2024.csv", QUALTRICS.encode())
    assert parsed.rows_in_file == 5
    assert parsed.excluded == {"preview, test or spam": 2, "unfinished": 1}
    assert parsed.responses["service_id"].to_list() == ["outreach", "harm_reduction"]
    assert parsed.responses["respondent_group"].to_list() == ["frontline", "senior_manager"]
    assert codes(parsed, "CP_AWARE") == [["yes"], ["not_sure"]]
    # "Other" chosen with its text; two options joined with a comma.
    assert codes(parsed, "CP_BARRIER") == [["other", "time"], ["cost", "power_imbalance"]]
    # 10:00 in London in July is 09:00 UTC (BST); the zone came from the ImportId row.
    assert parsed.responses["submitted_at_utc"][1] == dt.datetime(2024, 7, 1, 9, 0, tzinfo=dt.UTC)
    assert parsed.responses["source_timezone"][0] == "Europe/London"


def test_qualtrics_personal_data_never_leaves_the_reader(read):
    parsed = read("qualtrics_2024.csv", QUALTRICS.encode())
    assert {"IPAddress", "RecipientEmail", "RecipientLastName", "LocationLatitude"} <= set(
        parsed.dropped_columns
    )
    everything = "".join(
        frame.cast(pl.String, strict=False).write_csv()
        for frame in (parsed.responses, parsed.answers, parsed.open_answers, parsed.rejected)
    )
    for planted in [
        "192.0.2",
        "Bloggs",
        "jo@example.org",
        "a.b@example.org",
        "07700 900123",
        "R_1",
        "REF-1",
        "53.48",
    ]:
        assert planted not in everything
    texts = sorted(parsed.open_answers["text_redacted"].to_list())
    assert texts == ["Ask [name] on [phone]", "Rotas, and email me at [email]"]


SURVEYMONKEY = (
    "Respondent ID,Collector ID,Start Date,End Date,IP Address,Email Address,First Name,"
    "Last Name,Custom Data 1,Which service do you use or work in?,Which best describes you?,"
    "Before today had you heard of co-production?,What gets in the way of co-production? "
    "(select all that apply),,,What are the benefits of co-production?\r\n"
    ",,,,,,,,,Response,Response,Response,Time,Cost,Other (please specify),Open-Ended Response\r\n"
    "1001,77,03/04/2025 09:59:00 AM,03/04/2025 10:00:00 AM,198.51.100.1,a@example.org,Ann,Lee,"
    "P-1,Oakfield House,Frontline worker,Yes,Time,,,Caf\u00e9 culture \u2019 helps\r\n"
    "1002,77,03/05/2025 01:00:00 PM,03/05/2025 01:30:00 PM,198.51.100.2,b@example.org,Bo,Ray,"
    "P-2,Meadow View,Manager,No,,Cost,Not enough staff,It builds confidence\r\n"
)


def test_surveymonkey_cp1252_export_spreads_options_over_columns(read):
    parsed = read("surveymonkey_2025.csv", SURVEYMONKEY.encode("cp1252"))
    assert parsed.encoding == "windows-1252"
    assert codes(parsed, "CP_AWARE") == [["yes"], ["no"]]
    # Typed "Other (please specify)" text counts as choosing Other.
    assert codes(parsed, "CP_BARRIER") == [["time"], ["cost", "other"]]
    comments = parsed.open_answers.sort("text_redacted")["text_redacted"].to_list()
    assert comments == [
        "Caf\u00e9 culture \u2019 helps",
        "It builds confidence",
        "Not enough staff",
    ]
    # US month/day: 4 March 2025, 10:00 GMT.
    assert parsed.responses["submitted_at_utc"][0] == dt.datetime(2025, 3, 4, 10, 0, tzinfo=dt.UTC)


def test_surveymonkey_xlsx_export_reads_like_its_csv(read, tmp_path):
    import csv
    import io

    workbook = openpyxl.Workbook()
    for row in csv.reader(io.StringIO(SURVEYMONKEY)):
        workbook.active.append([cell if cell else None for cell in row])
    workbook.save(tmp_path / "surveymonkey_2025.xlsx")
    parsed = read("surveymonkey_2025.xlsx")
    assert codes(parsed, "CP_BARRIER") == [["time"], ["cost", "other"]]
    assert parsed.responses["service_id"].to_list() == ["oakfield_house", "meadow_view"]


def test_microsoft_forms_xlsx_with_semicolon_multiselect(read, tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(
        [
            "ID",
            "Start time",
            "Completion time",
            "Email",
            "Name",
            "Last modified time",
            "Which service do you use or work in?",
            "Which best describes you?",
            "What gets in the way of co-production? (select all that apply)",
            "What gets in the way of co-production? - Other",
        ]
    )
    sheet.append(
        [
            1,
            "3/4/25 9:00:00",
            "3/4/25 9:05:00",
            "anonymous",
            None,
            None,
            "Meadow View",
            "Carer",
            "Time;Communication;",
            None,
        ]
    )
    sheet.append(
        [
            2,
            "3/4/25 9:10:00",
            "3/4/25 9:15:00",
            "kim@example.org",
            "Kim Cole",
            None,
            "Oakfield House",
            "Carer",
            "Other;",
            "Parking",
        ]
    )
    workbook.save(tmp_path / "msforms_2025.xlsx")
    parsed = read("msforms_2025.xlsx")
    assert codes(parsed, "CP_BARRIER") == [["communication", "time"], ["other"]]
    # "anonymous" identifies nobody; a real email becomes a keyed hash and is not kept.
    assert parsed.responses["respondent_key"].null_count() == 1
    assert "kim@example.org" not in parsed.responses.write_csv()
    assert "Kim Cole" not in parsed.responses.write_csv()


def test_free_text_is_fingerprinted_before_redaction_and_never_kept(read, tmp_path):
    """An anonymous form: each response's free text becomes one keyed hash, case and spacing
    ignored, computed from the text as typed, so two answers redaction makes alike stay apart."""
    workbook = openpyxl.Workbook()
    workbook.active.append(
        ["ID", "Start time", "Completion time", "Email", "Name", "Last modified time",
         "Which service do you use or work in?", "Which best describes you?",
         "What challenges do you see in co-production?"]
    )  # fmt: skip
    texts = [
        "Rotas change at short notice",  # 1
        "  rotas CHANGE at\nshort   notice ",  # 2: the same answer, typed differently
        None,  # 3: no free text
        "Email me at a@example.org",  # 4
        "Email me at b@example.org",  # 5: redacted, it reads as 4 does
    ]
    for i, text in enumerate(texts, start=1):
        workbook.active.append(
            [i, "3/4/25 9:00:00", f"3/4/25 9:0{i}:00", "anonymous", None, None, "Meadow View",
             "Carer", text]
        )  # fmt: skip
    workbook.save(tmp_path / "msforms_text.xlsx")
    parsed = read("msforms_text.xlsx")
    prints = parsed.responses.sort("row_number")["free_text_fingerprint"].to_list()
    assert prints[0] == prints[1] and prints[2] is None
    assert prints[3] != prints[4] and len({prints[0], prints[3], prints[4]}) == 3
    assert all(len(p) == 64 for p in prints if p)  # hex of HMAC-SHA256
    redacted = parsed.open_answers.sort("response_key")["text_redacted"].to_list()
    assert redacted.count("Email me at [email]") == 2
    kept = parsed.responses.write_csv() + parsed.open_answers.write_csv()
    assert "@example.org" not in kept and "short notice" not in parsed.responses.write_csv()


GOOGLE = (
    "Timestamp,Which service do you use or work in?,Which best describes you?,"
    "What gets in the way of co-production? (select all that apply)\r\n"
    '13/03/2025 10:15:30,Meadow View,Frontline worker,"Time, Power imbalance, e.g. between staff '
    'and people who use services, Organisational culture (the way things are done here)"\r\n'
    "14/03/2025 11:00:00,Meadow View,Manager,Cost\r\n"
)


def test_google_forms_options_containing_commas_are_resolved(read):
    parsed = read("google_2025.csv", GOOGLE.encode())
    assert codes(parsed, "CP_BARRIER") == [["culture", "power_imbalance", "time"], ["cost"]]
    # Day 13 and 14 can only be day/month.
    assert parsed.responses["submitted_at_utc"][0] == dt.datetime(
        2025, 3, 13, 10, 15, 30, tzinfo=dt.UTC
    )


def test_ambiguous_dates_are_not_guessed(read):
    ambiguous = GOOGLE.replace("13/03/2025", "03/04/2025").replace("14/03/2025", "05/04/2025")
    with pytest.raises(UnreadableExport, match="date_order: DMY or date_order: MDY"):
        read("google_2025.csv", ambiguous.encode())
    # Declared in the registry, the same dates read as 3 April.
    parsed = read("google_uk_2025.csv", ambiguous.encode())
    assert parsed.responses["submitted_at_utc"][0].date() == dt.date(2025, 4, 3)


def test_spss_value_labels_are_read(read, tmp_path):
    import pandas as pd

    frame = pd.DataFrame(
        {
            "ResponseId": ["R_1", "R_2"],
            "RecordedDate": ["2024-03-04 10:00:00", "2024-03-05 10:00:00"],
            "Q_SERVICE": [1.0, 2.0],
            "Q_ROLE": [2.0, 8.0],
            "QID1": [1.0, 3.0],
        }
    )
    pyreadstat.write_sav(
        frame,
        str(tmp_path / "spss_2024.sav"),
        variable_value_labels={
            "Q_SERVICE": {1.0: "Community Outreach", 2.0: "Harm Reduction"},
            "Q_ROLE": {
                2.0: "Frontline care or support worker",
                8.0: "Person who draws on care and support",
            },
            "QID1": {1.0: "Yes", 2.0: "No", 3.0: "Not sure"},
        },
    )
    parsed = read("spss_2024.sav")
    assert parsed.responses["service_id"].to_list() == ["outreach", "harm_reduction"]
    assert parsed.responses["respondent_group"].to_list() == ["frontline", "person_drawing_on_care"]
    assert codes(parsed, "CP_AWARE") == [["yes"], ["not_sure"]]


def test_template_with_bom_and_an_unknown_service_held_with_its_value(read):
    content = (
        "\ufeffrespondent_id,submitted_at,service,respondent_group,cp_aware\r\n"
        "T1,2024-03-04 10:00:00,COMMUNITY   OUTREACH,Frontline worker,Yes\r\n"
        "T2,2024-03-04 11:00:00,Dr Patel's surgery,Frontline worker,Yes\r\n"
        "T3,2024-03-04 12:00:00,Community Outreach,Cleaner,Maybe\r\n"
    ).encode()
    parsed = read("template_2024.csv", content)
    assert parsed.encoding == "utf-8-sig"
    assert parsed.responses.height == 1
    reasons = parsed.rejected.sort("row_number")["reason"].to_list()
    assert reasons == [
        "The service (column service) is not a service or alias of organisation riverside (add "
        "it as an alias in data/sources.yml).",
        "The respondent group (column respondent_group) is not a declared label (add it to "
        "ref_answer_labels.csv).",
    ]
    assert parsed.rejected.sort("row_number")["value_redacted"].to_list() == [
        "Dr [name]'s surgery",
        "Cleaner",
    ]


def test_a_file_from_another_tool_is_named_in_the_error(read):
    with pytest.raises(UnreadableExport, match="It looks like a SurveyMonkey export"):
        read("qualtrics_2024.csv", SURVEYMONKEY.encode())


def test_split_options_takes_known_labels_whole():
    labels = ["power imbalance, e.g. between staff and people who use services", "time", "cost"]
    assert split_options(
        "time, power imbalance, e.g. between staff and people who use services", ",", labels
    ) == labels[:1] + ["time"]
    assert split_options("time,cost,parking", ",", labels) == ["time", "cost", "parking"]


def test_the_tool_is_recognised_from_the_header_when_not_named(read):
    parsed = read("auto_2024.csv", QUALTRICS.encode())
    assert parsed.responses["tool"].unique().to_list() == ["qualtrics"]
    assert parsed.excluded == {"preview, test or spam": 2, "unfinished": 1}
    with pytest.raises(UnreadableExport, match="matches no survey tool this pipeline reads") as err:
        read("auto_unknown.csv", b"Name,Score\r\nAnn,3\r\n")
    assert "Qualtrics CSV export (three header rows): ResponseId, StartDate" in str(err.value)


def test_times_at_the_clock_changes_are_kept_and_implausible_years_rejected(read):
    """London: 01:30 on 31 March 2024 never happened (clocks jumped 01:00 -> 02:00 GMT -> BST);
    01:30 on 27 October 2024 happened twice (BST, then GMT)."""
    rows = [
        ("T1", "2024-03-31 01:30:00"),  # skipped: read forward, as 02:30 BST = 01:30 UTC
        ("T2", "2024-10-27 01:30:00"),  # repeated: the earlier instant, 01:30 BST = 00:30 UTC
        ("T3", "2024-03-04 10:00:00"),  # ordinary GMT
        ("T4", "1066-10-14 09:00:00"),
        ("T5", "0001-01-01 00:00:00"),
        ("T6", "1899-12-31 10:00:00"),
    ]
    content = "respondent_id,submitted_at,service,respondent_group,cp_aware\r\n" + "".join(
        f"{rid},{when},Outreach team,Frontline worker,Yes\r\n" for rid, when in rows
    )
    parsed = read("template_2024.csv", content.encode())
    assert parsed.responses["submitted_at_utc"].to_list() == [
        dt.datetime(2024, 3, 31, 1, 30, tzinfo=dt.UTC),
        dt.datetime(2024, 10, 27, 0, 30, tzinfo=dt.UTC),
        dt.datetime(2024, 3, 4, 10, 0, tzinfo=dt.UTC),
    ]
    assert parsed.times_at_clock_change == 2
    rejected = parsed.rejected.sort("row_number")
    assert rejected["row_number"].to_list() == [5, 6, 7]
    assert set(rejected["reason"]) == {
        "The submission time (column submitted_at) is before 2000-01-01, the earliest date a "
        "survey response is accepted from."
    }


def test_a_file_lacking_required_question_columns_is_refused_with_the_list(tmp_path):
    """With the real crosswalk every column is required unless marked optional: a template
    export with 3 of its questions is refused, naming the ones that are missing."""
    registry_file = tmp_path / "sources.yml"
    registry_file.write_text(REGISTRY)
    registry = load_registry(registry_file)
    ctx = ReadContext(load_reference(), registry, b"test-key")
    path = tmp_path / "template_2024.csv"
    path.write_bytes(
        b"respondent_id,submitted_at,service,respondent_group,respondent_ref,completed_with_help,"
        b"staff_lived_experience,cp_aware,cp_define,cp_barrier\r\n"
        b"T1,2024-03-04 10:00:00,Outreach team,Frontline worker,,No,No,Yes,,Time\r\n"
    )
    with pytest.raises(UnreadableExport) as refused:
        read_export(path, only_registration(registry, path.name), ctx)
    assert str(refused.value) == (
        "The file lacks 16 of the columns instrument coprod_template_v1 requires "
        "(ref_instrument_columns.csv): cp_barrier_other, cp_benefit, cp_chall, cp_feel, "
        "cp_ladder, cp_more, cp_opp_own, cp_opp_svc, cp_say, cp_staff_did, cp_value, cp_valued, "
        "pr_costs, pr_outcome, pr_pay, pr_start. Export every question again, or mark a column "
        "optional there if this survey does not ask it."
    )


def test_an_export_where_everyone_is_in_one_group_needs_no_group_column(read, tmp_path):
    """An anonymous staff survey: no role question, the group declared on the registration."""
    workbook = openpyxl.Workbook()
    workbook.active.append(
        ["ID", "Start time", "Completion time", "Email", "Name", "Last modified time",
         "Which service do you use or work in?", "Before today had you heard of co-production?"]
    )  # fmt: skip
    for i, aware in enumerate(["Yes", "No", "Yes"], start=1):
        workbook.active.append(
            [i, "3/4/25 9:00:00", "3/4/25 9:05:00", "anonymous", None, None, "Meadow View", aware]
        )
    workbook.save(tmp_path / "staff_only_2025.xlsx")
    parsed = read("staff_only_2025.xlsx")
    assert parsed.responses["respondent_group"].to_list() == ["frontline"] * 3
    assert codes(parsed, "CP_AWARE") == [["yes"], ["no"], ["yes"]]
    # Registered without the group, the same file is refused: its group is unknown.
    (tmp_path / "staff_only_2025.xlsx").rename(tmp_path / "msforms_staff.xlsx")
    with pytest.raises(UnreadableExport, match="lacks the column\\(s\\) for respondent_group"):
        read("msforms_staff.xlsx")
