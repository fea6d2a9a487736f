"""Great Expectations Data Docs that an auditor reads offline, styled, from a plain index.

GX writes its pages to load Bootstrap, jQuery, popper, Font Awesome, bootstrap-table,
bootstrap-datepicker, a dark theme and Vega from CDNs, and draws the index's list of validation
results with JavaScript (bootstrap-table) from data in the page. Offline, the pages are unstyled
and the index lists nothing. After each build (`quality_gates.update_data_docs`) this module:

- copies Bootstrap 4, jQuery and Font Awesome from their PyPI packages (XStatic-Bootstrap,
  XStatic-jQuery, XStatic-Font-Awesome, installed with the project: nothing is downloaded at
  run time) into the site's `static/offline/`;
- rewrites every page GX wrote (and any older page still untouched) to load those local copies,
  and drops the CDN stylesheets and scripts that have no local copy and that reading a page
  does not need: bootstrap-table and its filter extension (they add sorting and filters to
  tables GX already writes as HTML; `offline.css` styles those tables instead),
  bootstrap-datepicker (for those filters), the dark theme, popper (inside Bootstrap's bundle)
  and Vega (drawn only for profiling results, which these gates never make). The GX logo comes
  from the site's own `static/images`, and the newsletter footer, which only links out, goes;
- writes the index page itself: every validation result as a plain link, newest first, with its
  verdict and how many expectations it met, then every expectation suite. No JavaScript is
  needed to find a result.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from html import escape
from importlib import import_module
from pathlib import Path

LOG = logging.getLogger(__name__)
OFFLINE_DIR = "static/offline"  # inside the site
MARKER = "<!-- offline: local assets (pipelines/data_docs_offline.py) -->"
ENTRIES_FILE = "index-entries.json"  # in OFFLINE_DIR: what the index lists, read once per result

# (xstatic package, file or folder inside its data directory, where it goes in OFFLINE_DIR)
ASSETS = (
    ("xstatic.pkg.bootstrap", "css/bootstrap.min.css", "bootstrap/bootstrap.min.css"),
    ("xstatic.pkg.bootstrap", "js/bootstrap.bundle.min.js", "bootstrap/bootstrap.bundle.min.js"),
    ("xstatic.pkg.jquery", "jquery.min.js", "jquery/jquery.min.js"),
    ("xstatic.pkg.font_awesome", "css/all.min.css", "font-awesome/css/all.min.css"),
    ("xstatic.pkg.font_awesome", "webfonts", "font-awesome/webfonts"),
)
# A remote stylesheet or script (by the path of its URL) -> its local copy; any other is dropped.
LOCAL_COPIES = (
    (re.compile(r"/bootstrap(\.min)?\.css$"), "bootstrap/bootstrap.min.css"),
    (re.compile(r"font-?awesome.*/all(\.min)?\.css$"), "font-awesome/css/all.min.css"),
    (re.compile(r"/jquery(-[\d.]+)?(\.min)?\.js$"), "jquery/jquery.min.js"),
    (re.compile(r"/bootstrap(\.bundle)?(\.min)?\.js$"), "bootstrap/bootstrap.bundle.min.js"),
)
OFFLINE_CSS = """/* Data Docs offline (pipelines/data_docs_offline.py). */
/* What bootstrap-table gave GX's tables online: they are plain HTML tables offline. */
table[data-toggle="table"] { width: 100%; margin-bottom: 1rem; border-collapse: collapse; }
table[data-toggle="table"] th, table[data-toggle="table"] td {
  padding: .3rem .5rem; border-top: 1px solid #dee2e6; vertical-align: top; }
table[data-toggle="table"] thead[hidden] { display: none; }
/* The index this module writes. */
.offline-index h1 { font-size: 1.6rem; margin: 1.5rem 0 .3rem; }
.offline-index h2 { font-size: 1.25rem; margin-top: 2rem; }
.offline-index td, .offline-index th { vertical-align: middle; }
.offline-index .when { white-space: nowrap; font-variant-numeric: tabular-nums; }
@media print { .offline-index a { color: inherit; } }
"""

_LINK = re.compile(r"<link\b[^>]*>", re.I)
_SCRIPT = re.compile(r"<script\b[^>]*\bsrc\s*=[^>]*>\s*</script>", re.I)
_IMG = re.compile(r"<img\b[^>]*>", re.I)
_HREF = re.compile(r"""\bhref\s*=\s*["']([^"']*)["']""", re.I)
_SRC = re.compile(r"""\bsrc\s*=\s*["']([^"']*)["']""", re.I)
_ALT = re.compile(r"""\balt\s*=\s*["']([^"']*)["']""", re.I)
_REMOTE = re.compile(r"^(https?:)?//", re.I)
_CSS_REMOTE_URL = re.compile(r"""url\(\s*["']?(https?:)?//[^)]*\)""", re.I)
_DARK = re.compile(r"@media\s*\(\s*prefers-color-scheme\s*:\s*dark\s*\)", re.I)
_NEWSLETTER = re.compile(r"<footer>(?:(?!</footer>).)*newsletter.*?</footer>", re.I | re.S)
_SOURCE_MAP = re.compile(r"\n?/[*/]# sourceMappingURL=[^\n]*")
# GX counts one folder too few for validation pages (their favicon is not found): any link to
# the site's static/images is pointed at it from where the page really is.
_STATIC_IMAGES = re.compile(r"""(\b(?:href|src)\s*=\s*["'])(?:\./|\.\./)*static/images/""", re.I)


class MissingAssets(RuntimeError):
    """The packages holding the local copies are not installed (pip install -e .)."""


@dataclass(frozen=True)
class OfflineSite:
    pages_rewritten: int
    validations_listed: int
    suites_listed: int


def remote_references(text: str) -> list[str]:
    """Every stylesheet, script, image or CSS url() that the page or stylesheet loads from
    another host. Hyperlinks a reader may follow (<a href>) are not loads and are not listed."""
    found = []
    for tag in _LINK.findall(text):
        href = _HREF.search(tag)
        if href and _REMOTE.match(href.group(1)):
            found.append(href.group(1))
    for pattern in (_SCRIPT, _IMG):
        for tag in pattern.findall(text):
            src = _SRC.search(tag)
            if src and _REMOTE.match(src.group(1)):
                found.append(src.group(1))
    found += [m.group(0) for m in _CSS_REMOTE_URL.finditer(text)]
    found += re.findall(r"""@import\s+["'](?:https?:)?//[^"']+""", text, re.I)
    return found


def install_assets(site: Path) -> None:
    """Copy the packaged Bootstrap, jQuery and Font Awesome into the site, once (again only when
    a package's file differs in size, as after an upgrade)."""
    target = site / OFFLINE_DIR
    for package, source, destination in ASSETS:
        try:
            base = Path(import_module(package).BASE_DIR)
        except ImportError as error:
            raise MissingAssets(
                f"{package} is not installed: Data Docs need it to render offline "
                "(pip install -e . installs it)"
            ) from error
        _copy(base / source, target / destination)
    css = target / "offline.css"
    if not css.exists() or css.read_text() != OFFLINE_CSS:
        css.write_text(OFFLINE_CSS)


def _copy(source: Path, destination: Path) -> None:
    if source.is_dir():
        for item in sorted(source.iterdir()):
            _copy(item, destination / item.name)
        return
    if destination.exists() and destination.stat().st_size == source.stat().st_size:
        return
    destination.parent.mkdir(parents=True, exist_ok=True)
    if source.suffix in {".css", ".js"}:  # source maps are not shipped: do not point at them
        destination.write_text(_SOURCE_MAP.sub("", source.read_text(encoding="utf-8")))
    else:
        shutil.copyfile(source, destination)


def localise_page(html: str, to_site: str, images: set[str]) -> str:
    """The page with local copies instead of CDN assets. `to_site` is the relative path from the
    page's folder to the site's root ('' or '../../'); `images` the names in static/images."""
    assets = f"{to_site}{OFFLINE_DIR}/"

    def local(url: str) -> str | None:
        path = url.split("?")[0].split("#")[0]
        return next((copy for pattern, copy in LOCAL_COPIES if pattern.search(path)), None)

    def link(match: re.Match) -> str:
        tag = match.group(0)
        href = _HREF.search(tag)
        if not href or not _REMOTE.match(href.group(1)):
            return tag
        copy = local(href.group(1))
        return f'<link rel="stylesheet" href="{assets}{copy}">' if copy else ""

    def script(match: re.Match) -> str:
        src = _SRC.search(match.group(0))
        if not src or not _REMOTE.match(src.group(1)):
            return match.group(0)
        copy = local(src.group(1))
        return f'<script src="{assets}{copy}"></script>' if copy else ""

    def image(match: re.Match) -> str:
        tag = match.group(0)
        src = _SRC.search(tag)
        if not src or not _REMOTE.match(src.group(1)):
            return tag
        name = src.group(1).split("?")[0].rsplit("/", 1)[-1]
        if name in images:
            return tag.replace(src.group(0), f'src="{to_site}static/images/{name}"')
        alt = _ALT.search(tag)
        return f"<span>{alt.group(1)}</span>" if alt else ""

    html = _LINK.sub(link, html)
    html = _SCRIPT.sub(script, html)
    html = _STATIC_IMAGES.sub(lambda m: f"{m.group(1)}{to_site}static/images/", html)
    html = _IMG.sub(image, html)
    html = _NEWSLETTER.sub("", html)
    html = _CSS_REMOTE_URL.sub("none", html)
    # The dark theme was a CDN stylesheet: without it GX's dark overrides would paint dark
    # tables on a light page. The pages stay light.
    html = _DARK.sub("@media not all", html)
    own_css = f'<link rel="stylesheet" href="{assets}offline.css">'
    html = html.replace("</head>", f"{own_css}\n</head>", 1)
    return f"{MARKER}\n{html}"


def _is_offline(page: Path) -> bool:
    with page.open("rb") as handle:
        return handle.read(len(MARKER)).decode("utf-8", "replace") == MARKER


def make_offline(site: Path, validations_store: Path) -> OfflineSite:
    """Make the Data Docs site under `site` readable offline: local assets, every page that GX
    wrote since the last call rewritten to use them, and the index written as plain links.
    `validations_store` is GX's validation results store (the JSON the pages were drawn from).
    Without the asset packages (an install that predates them) the pages still load nothing
    from another host, unstyled until `pip install -e .` brings the copies they name: Data Docs
    never hold a publication back."""
    try:
        install_assets(site)
    except MissingAssets as missing:
        LOG.warning("Data Docs are unstyled: %s", missing)
    images = {p.name for p in (site / "static" / "images").glob("*")}
    rewritten = 0
    for page in sorted(site.rglob("*.html")):
        if page == site / "index.html" or _is_offline(page):
            continue
        to_site = os.path.relpath(site, page.parent).replace(os.sep, "/") + "/"
        to_site = "" if to_site == "./" else to_site
        html = page.read_text(encoding="utf-8")
        _write(page, localise_page(html, to_site, images))
        rewritten += 1
    for stylesheet in (site / "static" / "styles").glob("*.css"):  # copied by GX on each build
        text = stylesheet.read_text(encoding="utf-8")
        if remote_references(text):
            _write(stylesheet, _CSS_REMOTE_URL.sub("none", text))
    entries = _validation_entries(site, validations_store)
    suites = sorted(p.relative_to(site).as_posix() for p in (site / "expectations").rglob("*.html"))
    _write(site / "index.html", render_index(entries, suites))
    return OfflineSite(rewritten, len(entries), len(suites))


def _validation_entries(site: Path, validations_store: Path) -> list[dict]:
    """One entry per validation page in the site, newest first: its suite, time, verdict and
    counts, from the stored result. Kept in ENTRIES_FILE so each result is read once."""
    cache_file = site / OFFLINE_DIR / ENTRIES_FILE
    try:
        cached = json.loads(cache_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        cached = {}
    entries = {}
    for page in (site / "validations").rglob("*.html"):
        key = page.relative_to(site).as_posix()
        entry = cached.get(key)
        if entry is None:
            stored = validations_store / page.relative_to(site / "validations")
            entry = _read_result(stored.with_suffix(".json"), key)
        if entry is not None:
            entries[key] = entry
    if entries != cached:
        _write(cache_file, json.dumps(entries, indent=1, sort_keys=True))
    return sorted(entries.values(), key=lambda e: (e["run_time"], e["suite"]), reverse=True)


def _read_result(path: Path, page: str) -> dict | None:
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # a page whose result is gone: GX would drop it from its index too
    statistics = result.get("statistics", {})
    meta = result.get("meta", {})
    run_time = (meta.get("run_id") or {}).get("run_time") or meta.get("validation_time") or ""
    return {
        "page": page,
        "suite": result.get("suite_name") or page.split("/")[1],
        "asset": (meta.get("active_batch_definition") or {}).get("data_asset_name"),
        "run_time": run_time,
        "success": bool(result.get("success")),
        "evaluated": statistics.get("evaluated_expectations"),
        "successful": statistics.get("successful_expectations"),
    }


def _when(run_time: str) -> str:
    try:
        moment = dt.datetime.fromisoformat(run_time.replace("Z", "+00:00"))
    except ValueError:
        return run_time
    return f"{moment.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S} UTC"


def _verdict(entry: dict) -> str:
    if entry["success"]:
        return '<span class="badge badge-success">Passed</span>'
    return '<span class="badge badge-danger">Failed</span>'


def _met(entry: dict) -> str:
    if entry["evaluated"] is None:
        return ""
    return f"{entry['successful']} of {entry['evaluated']}"


def render_index(entries: list[dict], suites: list[str]) -> str:
    """The site's index: plain HTML, styled by the local Bootstrap, no script."""
    latest: dict[str, dict] = {}
    for entry in entries:  # newest first: the first seen per suite is its latest
        latest.setdefault(entry["suite"], entry)

    def row(entry: dict, link_text: str) -> str:
        return (
            f'<tr><td class="when">{escape(_when(entry["run_time"]))}</td>'
            f"<td>{escape(entry['suite'])}</td><td>{_verdict(entry)}</td>"
            f"<td>{_met(entry)}</td>"
            f'<td><a class="validation-link" href="{escape(entry["page"])}">'
            f"{escape(link_text)}</a></td></tr>"
        )

    head = (
        '<thead class="thead-light"><tr><th>Validated (UTC)</th><th>Mart (suite)</th>'
        "<th>Result</th><th>Expectations met</th><th>Page</th></tr></thead>"
    )
    latest_rows = "".join(row(latest[suite], f"Latest {suite} result") for suite in sorted(latest))
    all_rows = "".join(row(e, f"{e['suite']}, {_when(e['run_time'])}") for e in entries)
    suite_items = "".join(
        f'<li><a class="suite-link" href="{escape(path)}">{escape(Path(path).stem)}</a></li>'
        for path in suites
    )
    empty = '<p class="text-muted">No validation result yet: run the pipeline.</p>'
    return (
        "<!DOCTYPE html>\n"
        f"{MARKER}\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Data Docs: Great Expectations gates on the published marts</title>"
        f'<link rel="stylesheet" href="{OFFLINE_DIR}/bootstrap/bootstrap.min.css">'
        f'<link rel="stylesheet" href="{OFFLINE_DIR}/offline.css">'
        '<link rel="shortcut icon" href="static/images/favicon.ico" type="image/x-icon">'
        '</head><body><main class="container offline-index">'
        "<h1>Data Docs: quality gates on the published marts</h1>"
        '<p class="lead">Every time the pipeline stages the marts, Great Expectations checks them '
        "before they may be published. Each row below is one such check; open it for every "
        "expectation, its result and the values that failed.</p>"
        '<nav><a href="#latest">Latest result per mart</a> · '
        f'<a href="#all">All {len(entries)} validation results</a> · '
        '<a href="#suites">Expectation suites</a></nav>'
        '<h2 id="latest">Latest result per mart</h2>'
        + (
            f'<table class="table table-sm">{head}<tbody>{latest_rows}</tbody></table>'
            if entries
            else empty
        )
        + f'<h2 id="all">All validation results, newest first ({len(entries)})</h2>'
        + (
            f'<table class="table table-sm table-striped">{head}<tbody>{all_rows}</tbody></table>'
            if entries
            else empty
        )
        + '<h2 id="suites">Expectation suites</h2>'
        f"<ul>{suite_items}</ul>"
        '<p class="text-muted small">Written by pipelines/data_docs_offline.py from the results '
        "Great Expectations stored. Styles and scripts are local copies (static/offline): the "
        "pages need no network and this one no JavaScript.</p>"
        "</main></body></html>\n"
    )


def _write(path: Path, text: str) -> None:
    """Write through a temporary file and a rename: a reader never sees half a page."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
