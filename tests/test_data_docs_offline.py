"""Data Docs work offline: after real validations of returned workbooks (one clean, two failing the
GX suites), no generated page or stylesheet loads anything from another host, every local file
they name exists, and the vendored assets carry their licences."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from workbook_factory import CASES, build_case, municipalities

FILES = ["baseline", "municipality_other_prefecture", "duplicate_measure"]

# Plain links a reader may click (they load nothing by themselves): GX's credit and newsletter.
CLICKABLE_EXTERNAL = {
    "https://greatexpectations.io",
    "https://greatexpectations.io/newsletter?utm_source=datadocs&utm_medium=product&utm_campaign=newsletter&utm_content=form",
}

# Attributes that make a browser fetch (or navigate to) an address.
URL_ATTRIBUTES = {
    "src",
    "href",
    "srcset",
    "data",
    "poster",
    "action",
    "formaction",
    "background",
    "xlink:href",
}
CSS_URL = re.compile(r"""url\(\s*(?P<q>["']?)(?P<url>.*?)(?P=q)\s*\)""", re.IGNORECASE)
CSS_IMPORT = re.compile(r"""@import\s+(?P<q>["'])(?P<url>.*?)(?P=q)""", re.IGNORECASE)
INLINE_ADDRESS = re.compile(r"""(?:[a-z][a-z0-9+.-]*:)?//[a-z0-9.-]+\.[a-z]{2,}""", re.IGNORECASE)
REFRESH_URL = re.compile(r"url\s*=\s*(?P<url>\S+)", re.IGNORECASE)


@dataclass(frozen=True)
class Reference:
    file: Path
    where: str  # e.g. "<script src>", "<style>", "css"
    url: str


class _Collector(HTMLParser):
    def __init__(self, file: Path) -> None:
        super().__init__(convert_charrefs=True)
        self.file = file
        self.found: list[Reference] = []
        self.inline: list[Reference] = []  # addresses in inline <script> text
        self._raw: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name in URL_ATTRIBUTES:
                urls = (
                    [part.split()[0] for part in value.split(",") if part.split()]
                    if name == "srcset"
                    else [value]
                )
                self.found += [Reference(self.file, f"<{tag} {name}>", u.strip()) for u in urls]
            elif name == "style":
                self.found += css_references(self.file, f"<{tag} style>", value)
            elif (
                tag == "meta"
                and name == "content"
                and (dict(attrs).get("http-equiv") or "").lower() == "refresh"
            ):
                self.found += [
                    Reference(self.file, "<meta refresh>", m["url"]) for m in REFRESH_URL.finditer(value)
                ]
        self._raw = tag if tag in ("script", "style") else None

    def handle_endtag(self, tag: str) -> None:
        self._raw = None

    def handle_data(self, data: str) -> None:
        if self._raw == "style":
            self.found += css_references(self.file, "<style>", data)
        elif self._raw == "script":
            self.inline += [Reference(self.file, "<script>", m[0]) for m in INLINE_ADDRESS.finditer(data)]


def css_references(file: Path, where: str, css: str) -> list[Reference]:
    return [
        Reference(file, where, m["url"].strip()) for m in (*CSS_URL.finditer(css), *CSS_IMPORT.finditer(css))
    ]


def html_references(file: Path, text: str) -> tuple[list[Reference], list[Reference]]:
    collector = _Collector(file)
    collector.feed(text)
    collector.close()
    return collector.found, collector.inline


def is_local(url: str) -> bool:
    """A relative path, a fragment or inline data: nothing another host would serve."""
    if url.startswith(("#", "data:")):
        return True
    parts = urlsplit(url)
    return not parts.scheme and not parts.netloc and not url.startswith(("/", "\\"))


def problems(site: Path) -> list[str]:
    """Every reference in the site's HTML and CSS that is external (other than an allowed
    clickable link) or names a local file that does not exist."""
    found: list[str] = []
    refs: list[Reference] = []
    for path in sorted(site.rglob("*")):
        if path.suffix == ".html":
            html, inline = html_references(path, path.read_text(encoding="utf-8"))
            refs += html
            found += [f"{r.file}: {r.where} names {r.url}" for r in inline]
        elif path.suffix == ".css":
            refs += css_references(path, "css", path.read_text(encoding="utf-8"))
    for ref in refs:
        if ref.where == "<a href>" and ref.url in CLICKABLE_EXTERNAL:
            continue
        if not is_local(ref.url):
            found.append(f"{ref.file}: {ref.where} loads {ref.url}")
            continue
        target = unquote(urlsplit(ref.url).path)
        if not ref.url.startswith(("#", "data:")) and target:
            resolved = (ref.file.parent / target).resolve()
            if not resolved.is_relative_to(site.resolve()) or not resolved.is_file():
                found.append(f"{ref.file}: {ref.where} names a missing file {ref.url}")
    return found


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Data Docs of two validation runs of three returned workbooks (the second run renders only
    its own pages and the index, as nightly runs do)."""
    from flows.steps import scan_inbox, stage_files
    from kokuho.config import Settings

    home = tmp_path_factory.mktemp("docs_home")
    folder = tmp_path_factory.mktemp("returned")
    for name, municipality in zip(FILES, municipalities(), strict=False):
        build_case(CASES[name], folder, municipality)
    settings = Settings.resolve(home=home, prefecture_code="11", fiscal_year=2024)
    for _ in range(2):
        result = stage_files(scan_inbox([folder]), settings)
        assert result.data_docs_index == settings.data_docs_dir / "index.html"
        assert sum(o.status == "quarantined" for o in result.outcomes) == 2
    return settings.data_docs_dir


def test_no_page_or_stylesheet_loads_anything_from_another_host(site: Path) -> None:
    pages = list(site.rglob("*.html"))
    from transform.contracts import STAGING_TABLES

    suites = len(STAGING_TABLES)
    assert len(pages) == 1 + suites + 2 * suites, "index, one page per suite, one per suite and run"
    assert problems(site) == []


def test_the_pages_use_the_shipped_copies(site: Path) -> None:
    index = (site / "index.html").read_text(encoding="utf-8")
    for asset in (
        "bootstrap-4.3.1/bootstrap.min.css",
        "jquery-3.7.1/jquery.min.js",
        "bootstrap-table.min.js",
    ):
        assert f'"./static/vendor/{asset}' in index or f"/{asset}" in index
    page = next((site / "validations" / "stg_submissions").rglob("*.html"))
    text = page.read_text(encoding="utf-8")
    assert 'src="../../../../static/vendor/jquery-3.7.1/jquery.min.js"' in text
    assert "integrity=" not in text and "crossorigin=" not in text, "file:// pages refuse SRI/CORS scripts"
    assert 'href="../../../../static/images/favicon.ico"' in text
    # The validation results themselves are on the page: the other prefecture's code failed.
    assert "131016" in text


def test_the_site_copy_is_the_vendored_assets(site: Path) -> None:
    from expectations.data_docs import ASSETS_DIR, LOCAL_COPIES, SITE_ASSETS

    shipped = {p.relative_to(ASSETS_DIR) for p in ASSETS_DIR.rglob("*") if p.is_file()}
    copied = {p.relative_to(site / SITE_ASSETS) for p in (site / SITE_ASSETS).rglob("*") if p.is_file()}
    assert copied == shipped
    for target in LOCAL_COPIES.values():
        assert (site / target).is_file(), target
    for folder in ASSETS_DIR.iterdir():
        if folder.is_dir():
            assert any(p.name.startswith("LICENSE") for p in folder.iterdir()), f"{folder.name}: no licence"
            assert f"`{folder.name}/`" in (ASSETS_DIR / "README.md").read_text(encoding="utf-8")


def test_rewriting_is_idempotent_and_removes_stale_assets(site: Path, tmp_path: Path) -> None:
    import shutil

    from expectations.data_docs import SITE_ASSETS, make_offline

    copy = tmp_path / "docs"
    shutil.copytree(site, copy)
    stale = copy / SITE_ASSETS / "jquery-3.6.0" / "jquery.min.js"
    stale.parent.mkdir()
    stale.write_text("old", encoding="utf-8")
    before = {p: p.read_bytes() for p in copy.rglob("*.html")}
    make_offline(copy)
    assert {p: p.read_bytes() for p in copy.rglob("*.html")} == before
    assert not stale.parent.exists()


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        (
            '<script src="https://cdn.jsdelivr.net/npm/vega@5"></script>',
            '<script src="../static/vendor/vega-5.33.1/vega.min.js"></script>',
        ),
        (
            '<script src="https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js" '
            'integrity="sha384-x" crossorigin="anonymous"></script>',
            '<script src="../static/vendor/bootstrap-4.3.1/bootstrap.min.js"></script>',
        ),
        (
            "a { background: url('https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/"
            "full_logo_dark.png') }",
            "a { background: url('../static/images/logo-long.png') }",
        ),
        (
            '<img src="https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/logo-long.png'
            '?d=20240601T000000Z&amp;dataContextId=x">',
            '<img src="../static/images/logo-long.png">',
        ),
        ('<link href="../../static/images/favicon.ico">', '<link href="../static/images/favicon.ico">'),
        ('<a href="https://greatexpectations.io">GX</a>', '<a href="https://greatexpectations.io">GX</a>'),
    ],
    ids=["script", "sri-attributes", "css-url", "logo-with-query", "favicon-depth", "plain-link"],
)
def test_localise(page: str, expected: str) -> None:
    from expectations.data_docs import localise

    assert localise(page, to_root="..") == expected


@pytest.mark.parametrize(
    "page",
    [
        '<script src="https://cdn.example.org/x.js"></script>',
        '<link rel="stylesheet" href="//cdn.example.org/x.css">',
        '<img srcset="a.png 1x, https://img.example.org/b.png 2x">',
        "<style>@import 'https://fonts.example.org/f.css';</style>",
        '<div style="background: url(http://img.example.org/a.png)"></div>',
        '<a href="https://example.org/">a page</a>',
        "<script>fetch('https://api.example.org/v1')</script>",
        '<meta http-equiv="refresh" content="0; url=https://example.org/">',
        '<script src="missing.js"></script>',
    ],
)
def test_the_check_finds_external_and_missing_files(page: str, tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text(page, encoding="utf-8")
    (tmp_path / "a.png").write_bytes(b"")
    assert len(problems(tmp_path)) == 1
