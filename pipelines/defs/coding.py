"""Dagster assets of the coding round-trip: analysts' coding sheets in, the next sheet out.

- validated/analyst_codes reads data/coding/, checks each new sheet and stores its codes
  (pipelines/coding/analyst_codes.py). It is the dbt source of the same name, so it sits upstream
  of the models that use the codes.
- review/open_answers_to_code writes data/review/open_answers_to_code.xlsx and .csv after the
  build: the answers no analyst has coded yet, with the codebook's suggestion and why.
"""

import datetime as dt

import dagster as dg

from pipelines.coding.analyst_codes import take_in_coding_sheets
from pipelines.coding.sheet import write_coding_sheet
from pipelines.defs.resources import Warehouse
from pipelines.hash_key import stored_fingerprint
from pipelines.ingest.intake import escape_for_log
from pipelines.reference import load_reference
from pipelines.spreadsheet import write_csv_for_excel
from pipelines.warehouse import read_table, scalar

CODING_SHEETS_CSV = "coding_sheets.csv"


@dg.asset(
    key=["validated", "analyst_codes"],
    group_name="validation",
    kinds={"python", "duckdb"},
    deps=[dg.AssetKey(["validated", "open_answers"]), dg.AssetKey(["validated", "responses"])],
    check_specs=[
        dg.AssetCheckSpec(
            "coding_sheets_accepted",
            asset=["validated", "analyst_codes"],
            description="Every new coding sheet in data/coding/ was accepted, and every stored "
            "code still matches an answer under the current hash key. A warning: refused sheets "
            "are kept, nothing of them is stored, and the codebook codes those answers.",
        )
    ],
    description=(
        "Codes analysts gave open answers in coding sheets dropped into data/coding/ (the "
        "sheet each run writes to data/review/). A sheet is checked whole (answer keys, text, "
        "hash key, codes) and refused whole on any problem, with file, row and column named. "
        "Accepted codes are keyed by response and question and override the codebook; the "
        "(organisation, wave) partitions whose codes changed are rebuilt."
    ),
)
def analyst_codes(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    settings = warehouse.settings
    now = dt.datetime.now(dt.UTC)
    with warehouse.connect() as con:
        intake = take_in_coding_sheets(con, settings.coding_dir, load_reference(), now)
        partitions = scalar(con, "select count(*) from validated.partitions_to_build")
        listed = read_table(
            con,
            "select file_name, seen_at, status, reason, rows_read, codes_accepted "
            "from ingest.coding_sheets order by seen_at, file_name",
        )
    review = settings.data_dir / "review"
    write_csv_for_excel(listed, review / CODING_SHEETS_CSV)
    new = [s for s in intake.sheets if s.status in {"accepted", "refused"}]
    log = settings.data_dir / "logs" / "ingest.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a", encoding="utf-8") as handle:
        for sheet in new:
            line = (
                f"coding_sheet={escape_for_log(sheet.file_name)} "
                f"sha256={sheet.sheet_sha256[:12]} status={sheet.status} "
                f"codes={sheet.codes_accepted} reason={escape_for_log(sheet.reason or '')}"
            )
            handle.write(f"{now:%Y-%m-%dT%H:%M:%SZ} {line}\n")
            (context.log.info if sheet.status == "accepted" else context.log.warning)(line)
    refused = [s for s in new if s.status == "refused"]
    problems = [s.reason for s in refused]
    if intake.codes_stranded:
        problems.append(
            f"{intake.codes_stranded} stored analyst code(s) were made under another hash key "
            "and their answers' files are no longer read: they match no answer. Code those "
            "answers again from the next sheet."
        )
    return dg.MaterializeResult(
        check_results=[
            dg.AssetCheckResult(
                check_name="coding_sheets_accepted",
                passed=not problems,
                severity=dg.AssetCheckSeverity.WARN,
                description=" ".join(problems) or None,
                metadata={"sheets_refused": [s.file_name for s in refused]},
            )
        ],
        metadata={
            "sheets_accepted_this_run": sum(s.status == "accepted" for s in new),
            "sheets_refused_this_run": len(refused),
            "answers_coded_this_run": sum(s.codes_accepted for s in new),
            "analyst_codes_stored": intake.codes_stored,
            "codes_rekeyed_after_key_rotation": intake.codes_rekeyed,
            "codes_matching_no_answer": intake.codes_stranded,
            "partitions_to_build": partitions,
            "coding_sheets_csv": dg.MetadataValue.path(str(review / CODING_SHEETS_CSV)),
        },
    )


@dg.asset(
    key=["review", "open_answers_to_code"],
    group_name="publish",
    kinds={"python", "excel"},
    deps=[
        dg.AssetKey(["intermediate", "int_open_answers_coded"]),
        dg.AssetKey(["intermediate", "int_answer_codes"]),
    ],
    description=(
        "data/review/open_answers_to_code.xlsx and .csv: the open answers no analyst has coded "
        "yet (redacted text, newest waves first, at most 10,000), each with the codebook's "
        "suggestion and why, and an empty code column with the question's codes as a drop-down. "
        "Filled in and dropped into data/coding/, it comes back through validated/analyst_codes."
    ),
)
def open_answers_to_code(
    context: dg.AssetExecutionContext, warehouse: Warehouse
) -> dg.MaterializeResult:
    settings = warehouse.settings
    with warehouse.connect(read_only=True) as con:
        fingerprint = stored_fingerprint(con)
        sheet = write_coding_sheet(
            con, load_reference(), fingerprint or "", settings.data_dir / "review"
        )
        coded_by = dict(
            con.execute(
                "select coded_by, count(*) from (select distinct response_key, file_sha256, "
                "question_id, coded_by from intermediate.int_answer_codes c "
                "join reference.ref_questions q using (question_id) "
                "where q.answer_type = 'open') group by 1"
            ).fetchall()
        )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": sheet.rows,
            "answers_left_off_the_sheet": sheet.left_off,
            "open_answers_coded_by_analyst": int(coded_by.get("analyst", 0)),
            "open_answers_coded_by_codebook": int(coded_by.get("codebook", 0)),
            "xlsx": dg.MetadataValue.path(str(sheet.xlsx)),
            "csv": dg.MetadataValue.path(str(sheet.csv)),
        }
    )
