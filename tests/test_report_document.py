"""The final report read as a methodologist reads it: the demo campaign and a generated one of 500 schools,
collected and rendered by the real pipeline, then checked page by page over the PDF's text (pdftotext) and
over the page images for the rules a document a district signs must keep (issue 12)."""

from __future__ import annotations

import datetime as dt
import html
import re
import shutil
import subprocess
import tomllib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pymorphy3
import pytest
from PIL import Image
from test_render import needs_poppler

from benchmarks.generate import Options, generate
from pipeline import ledger
from pipeline.collect.run import collect
from pipeline.district.setup import load_setup
from pipeline.findings import CATALOGUE
from pipeline.report.annual import build_report, write_report

PROJECT = Path(__file__).resolve().parents[1]
NOW = dt.datetime(2025, 11, 1, 10, 0)
FOOTER = re.compile(r"стр\. \d+ из \d+")
# Codes a reader of the report must never meet: the checks' codes and the format's indicator codes.
TECHNICAL_CODES = sorted({code.split(".")[0] for code in CATALOGUE} | {f"P{number:02d}" for number in range(1, 30)})
MONTHS = {"января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября",
          "ноября", "декабря"}


@dataclass
class Document:
    """One rendered report: its PDF's pages as text, its HTML, and the district data it came from."""

    pdf: Path
    html: str
    district: dict

    @cached_property
    def pages(self) -> list[str]:
        text = subprocess.run(["pdftotext", "-layout", str(self.pdf), "-"], check=True, capture_output=True,
                              text=True).stdout
        return [page for page in text.split("\f") if page.strip()]

    @cached_property
    def text(self) -> str:
        return "\n".join(self.pages)

    @cached_property
    def lines(self) -> list[str]:
        return [line.strip() for line in self.text.splitlines() if line.strip()]


def _render(inputs: Path, outputs: Path, years: tuple[int, ...]) -> Document:
    for year in years:
        collect(load_setup(inputs, outputs, year), now=NOW if year == years[-1] else NOW.replace(year=year))
    setup = load_setup(inputs, outputs, years[-1])
    engine = ledger.open_ledger(setup.ledger_url)
    try:
        paths = write_report(setup, build_report(setup, engine, NOW.replace(year=years[-1])))
    finally:
        engine.dispose()
    district = tomllib.loads((inputs / "district.toml").read_text(encoding="utf-8"))
    return Document(paths["pdf"], paths["html"].read_text(encoding="utf-8"), district)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Document:
    root = tmp_path_factory.mktemp("demo")
    shutil.copytree(PROJECT / "inputs", root / "inputs")
    return _render(root / "inputs", root / "outputs", (2024, 2025))


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> Document:
    """500 generated schools with a previous campaign: the size of a region's municipality set."""
    root = tmp_path_factory.mktemp("region")
    for year in (2024, 2025):
        generate(root, Options(500, year), jobs=2)
    return _render(root / "inputs", root / "outputs", (2024, 2025))


@pytest.fixture(params=["demo", "region"])
def document(request: pytest.FixtureRequest) -> Document:
    return request.getfixturevalue(request.param)


# --- the rules, each a function of the document that returns what breaks it -------------------------------


def technical_codes(document: Document) -> list[str]:
    """Check codes (L05, R10…), indicator codes (P01…) and cell addresses (D7) anywhere in the document."""
    codes = re.findall(r"\b(?:" + "|".join(TECHNICAL_CODES) + r")\b", document.text)
    cells = re.findall(r"(?<![\w/.-])[A-Z]{1,2}[1-9]\d{0,4}\b", document.text)
    return codes + [cell for cell in cells if cell not in ("A4", "A3")]


def hyphen_minuses(document: Document) -> list[str]:
    """A hyphen where a minus belongs: «-1 ОО», «-6,7»."""
    return [line for line in document.lines if re.search(r"(?<![\w./–—-])-\s?\d", line)]


def shares_changed_in_percent(document: Document) -> list[str]:
    """A difference of shares must be in п. п., never «+5,2 %» or «−6,7 %»."""
    return [line for line in document.lines if re.search(r"[+−-]\s?\d+(?:,\d+)?\s?%", line)]


def unbroken_numbers(document: Document) -> list[str]:
    """Numbers of five digits and more without the thousands space (formulas too)."""
    found = []
    for line in document.lines:
        for match in re.finditer(r"(?<![\d.,/:\-+A-Za-z])\d{5,}(?![\d.,]\d)", line):
            found.append(f"{match.group()} in {line!r}")
    return found


def split_numero(document: Document) -> list[str]:
    """«№» at a line's end, away from its number, or glued to it."""
    return [line for line in document.lines if re.search(r"№(?:\s{2,}|$)|№\d", line)]


def continuation_titles(document: Document) -> list[str]:
    """ГОСТ 7.32: «Продолжение таблицы N», never «Таблица N … (продолжение)»."""
    wrong = [line for line in document.lines if "(продолжение)" in line.lower()]
    wrong += [line for line in document.lines
              if "продолжение" in line.lower() and not re.search(r"Продолжение таблицы \d+", line)
              and line.lower().startswith(("таблица", "продолжение"))]
    return wrong


def caption_numbering(document: Document, word: str) -> list[str]:
    """Tables (above) and figures (below) numbered through from 1, each title once, no full stop after a figure's."""
    captions = [(int(match.group(1)), match.group(2).strip()) for line in document.lines
                if (match := re.match(word + r" (\d+) [–—] (.+)", line))]
    problems = [] if captions else [f"no «{word} N – …» caption at all"]
    numbers = [number for number, _ in captions]
    if numbers != list(range(1, len(numbers) + 1)):
        problems.append(f"{word} numbers {numbers}")
    titles = [title for _, title in captions]
    problems += [f"{word} title twice: {title}" for title in {t for t in titles if titles.count(t) > 1}]
    if word == "Рисунок":
        problems += [f"full stop: {title}" for title in titles if title.endswith(".")]
    return problems


def capitalised_after_number(document: Document) -> list[str]:
    """«3 Представлений к поощрению», «1 ОО Не сдали»: a label glued after a number."""
    return [line for line in document.lines
            if re.search(r"(?<![\d.])\d+[ \u00a0](?:ОО[ \u00a0])?[А-ЯЁ][а-яё]{3,}", line)
            and not re.search(r"\d{4} г", line)]


@pytest.fixture(scope="module")
def morph() -> pymorphy3.MorphAnalyzer:
    return pymorphy3.MorphAnalyzer()


def disagreeing_numerals(document: Document, morph: pymorphy3.MorphAnalyzer) -> list[str]:
    """A cardinal number and the noun after it that does not agree with it («5 представления»)."""
    found = []
    for line in document.lines:
        for match in re.finditer(r"(?<![\d.,№/:\-])(\d{1,3}(?:[ \u00a0]\d{3})*)[ \u00a0]([а-яё]{3,})\b", line):
            number, word = int(re.sub(r"\D", "", match.group(1))), match.group(2)
            if word in MONTHS or 1900 <= number <= 2100:
                continue
            nouns = [parse for parse in morph.parse(word) if parse.tag.POS == "NOUN"
                     and parse.tag.case in ("nomn", "gent", "accs")]
            if not nouns:
                continue
            agreeing = {agreed.word for parse in nouns if (agreed := parse.make_agree_with_number(number))}
            if word not in agreeing:
                found.append(f"{match.group()} in {line!r}")
    return found


def stranded_headings(document: Document) -> list[str]:
    """A section heading or a table's title as the last thing on a page, its content on the next."""
    stranded = []
    for number, page in enumerate(document.pages, start=1):
        content = [line.strip() for line in page.splitlines()
                   if line.strip() and not FOOTER.search(line) and "Демонстрационные данные" != line.strip()]
        if not content:
            continue
        last = content[-1]
        if re.match(r"(\d+(\.\d+)*\.? [А-ЯЁ][^.]{0,90}|Таблица \d+ [–—] .+|Продолжение таблицы \d+)$", last):
            stranded.append(f"page {number}: {last}")
    return stranded


def nested_guillemets(document: Document) -> list[str]:
    """Quotes inside quotes in «ёлочки» («раздел «Школьные ИБЦ»»): the inner ones must be „лапки“.
    Read in the HTML's text: the PDF's layout text sets cards side by side on one line."""
    body = re.sub(r"<(style|script)[^>]*>.*?</\1>", "", document.html, flags=re.S)
    text = html.unescape(re.sub(r"<[^>]+>", " ", body))
    found, depth = [], 0
    for position, character in enumerate(text):
        depth += {"«": 1, "»": -1}.get(character, 0)
        if depth > 1:
            found.append(" ".join(text[max(0, position - 60):position + 40].split()))
            depth = 1
        depth = max(depth, 0)
    return found


def subsection_numbers(document: Document) -> list[str]:
    """ГОСТ 7.32: «10.1 Выводы», as «1.1 Цель»: no full stop after a subsection's number."""
    return [line for line in document.lines if re.match(r"\d+\.\d+\. [А-ЯЁ]", line)]


# --- the tests ---------------------------------------------------------------------------------------------


@needs_poppler
@pytest.mark.parametrize("rule", [technical_codes, hyphen_minuses, shares_changed_in_percent, unbroken_numbers,
                                  split_numero, continuation_titles, capitalised_after_number, stranded_headings,
                                  nested_guillemets, subsection_numbers])
def test_typography_and_words(document: Document, rule) -> None:
    assert rule(document) == []


@needs_poppler
@pytest.mark.parametrize("word", ["Таблица", "Рисунок"])
def test_tables_and_figures_numbered_through(document: Document, word: str) -> None:
    assert caption_numbering(document, word) == []


@needs_poppler
def test_numerals_agree_with_their_nouns(document: Document, morph: pymorphy3.MorphAnalyzer) -> None:
    assert disagreeing_numerals(document, morph) == []


@needs_poppler
def test_cover_carries_the_approval_block_from_district_data(demo: Document) -> None:
    cover = re.sub(r"\s+", " ", demo.pages[0].replace("\u00a0", " "))
    district = demo.district["district"]
    assert "УТВЕРЖДАЮ" in cover
    for key in ("full_name", "approver_position", "approver_name"):
        assert re.sub(r"\s+", " ", district[key]) in cover, key


@needs_poppler
def test_executor_signs_the_body(demo: Document) -> None:
    district = demo.district["district"]
    flat = re.sub(r"\s+", " ", demo.text.replace("\u00a0", " "))
    appendices = flat.rindex("Приложение 1")
    executor = flat.find("Исполнитель")
    assert 0 < executor < appendices
    assert district["executor_name"] in flat[executor:appendices]
    assert district["executor_phone"] in flat[executor:appendices]


@needs_poppler
def test_method_states_the_one_share_rule(demo: Document) -> None:
    flat = re.sub(r"\s+", " ", demo.text.replace("\u00a0", " "))
    assert "не требуется" in flat and "п. п." in flat
    assert re.search(r"\d+ из \d+", flat)


@needs_poppler
def test_no_page_is_left_half_empty(document: Document, tmp_path: Path) -> None:
    """Below the last mark of a page lies at most a third of the page, unless the next page starts an appendix
    (a new page by ГОСТ) or it is the last page of the body or of the document."""
    subprocess.run(["pdftoppm", "-png", "-r", "20", str(document.pdf), str(tmp_path / "p")], check=True)
    images = sorted(tmp_path.glob("p*.png"))
    half_empty = []
    for number, (image, page) in enumerate(zip(images, document.pages, strict=True), start=1):
        following = document.pages[number] if number < len(document.pages) else ""
        if number <= 2 or not following or re.search(r"^\s*Приложение \d", following, re.MULTILINE) \
                or "Исполнитель" in page:
            continue
        if _blank_bottom_share(image) > 1 / 3:
            half_empty.append(number)
    assert half_empty == []


def _blank_bottom_share(path: Path) -> float:
    """The share of the page's height, above the running footer, below the last non-white pixel row."""
    with Image.open(path) as picture:
        grey = picture.convert("L")
        width, height = grey.size
        pixels = grey.load()
        rows = [y for y in range(height) if any(pixels[x, y] < 200 for x in range(0, width, 2))]
    # The footer is the lowest mark; the content ends at the lowest mark above the gap before it.
    footer_top = rows[-1]
    for y in reversed(rows):
        if footer_top - y > height * 0.02:
            break
        footer_top = y
    content = [y for y in rows if y < footer_top - height * 0.02]
    return (footer_top - (content[-1] if content else 0)) / height
