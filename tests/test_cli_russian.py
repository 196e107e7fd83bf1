"""The command line speaks Russian only: help pages, usage errors, district-data and system errors, the refusal
to report nothing and the forced draft; a checker finds any English word outside names, paths and codes."""

from __future__ import annotations

import argparse
import errno
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import PROJECT

from eibm import usage
from eibm.cli import build_parser, main
from eibm.os_errors import describe_os_error

REGISTER = ("Код ОО;Наименование;Муниципалитет;Сайт;E-mail;Открыта;Закрыта\n"
            "70-001;МБОУ «Тестовая СОШ»;Тест;test-school.ru;a@test-school.ru;;\n"
            "70-002;МБОУ «Вторая СОШ»;Тест;second.ru;a@second.ru;;\n")


def command_words() -> tuple[tuple[str, ...], set[str]]:
    """The commands, and every word a user types as is: the commands and the choices of their arguments."""
    commands = next(action for action in build_parser()._actions if isinstance(action, argparse._SubParsersAction))
    typed = {str(choice) for parser in commands.choices.values() for action in parser._actions
             for choice in action.choices or ()}
    return tuple(commands.choices), typed | set(commands.choices)


COMMANDS, TYPED = command_words()
# Names a Russian reader meets as they are: the program, its commands, products and formats, TOML's
# true/false, «N» of the calendar's ДД.ММ.N, and the Dask cluster words of --cluster's help.
ALLOWED = {"eibm", *TYPED, "PDF", "HTML", "Excel", "JSON", "TOML", "SQLAlchemy", "URL", "Dask", "PostgreSQL",
           "Prefect", "tcp", "local", "csv", "xlsx", "xls", "ods", "eml", "true", "false", "N", "UTF"}
_LATIN = re.compile(r"[A-Za-z]+")
_QUOTED = re.compile(r"«[^«»]*»")  # a value the user typed or the file holds, quoted back
_SECTION = re.compile(r"\[[\w.]+\]")  # a TOML section: [calendar], [mail]


def english_words(text: str, *given: str) -> list[str]:
    """Latin-letter words of *text* outside option names, paths, keys, codes, quoted values and *given* words."""
    text = _SECTION.sub(" ", _QUOTED.sub(" ", text))
    found = []
    for token in text.split():
        token = token.strip("()[]{},;:!?'\"…").rstrip(".")
        if token in given or token.startswith("-") or any(mark in token for mark in "/._<>@="):
            continue  # typed by the user, an option, a path, a file name, a key, an address
        found += [word for word in _LATIN.findall(token) if word not in ALLOWED and not word.isupper()]
    return found


@pytest.fixture()
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    inputs = tmp_path / "inputs"
    (inputs / "2025").mkdir(parents=True)
    shutil.copy(PROJECT / "inputs" / "district.toml", inputs)
    (inputs / "schools.csv").write_text(REGISTER, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def eibm(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run ``eibm *argv`` in this process: its exit code, stdout and stderr."""
    try:
        code = main(list(argv))
    except SystemExit as exit_:  # argparse ends help and usage errors this way
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def break_district(workspace: Path, old: str, new: str) -> None:
    path = workspace / "inputs" / "district.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize("argv", [["--help"], *([command, "--help"] for command in COMMANDS)],
                         ids=lambda argv: " ".join(argv))
def test_help_pages_are_russian(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    code, out, err = eibm(capsys, *argv)
    assert (code, err) == (0, "")
    assert out.startswith("Использование: eibm")
    assert "показать эту справку и выйти" in out
    assert english_words(out) == []


def test_every_option_says_what_it_is(capsys: pytest.CaptureFixture[str]) -> None:
    for command in COMMANDS:
        _, out, _ = eibm(capsys, command, "--help")
        options = re.findall(r"^  (-[-\w, ]+?)(?:\s+[А-ЯЁ]+)?(?:\n|  +(\S.*))$", out, re.MULTILINE)
        assert options, command
        assert [name for name, help_text in options if not help_text] == [], command
    _, out, _ = eibm(capsys, "report", "--help")
    words = " ".join(out.split())
    assert "--year ГОД год кампании" in words and "например 2026" in words
    assert "--force построить черновик" in words and "«Черновик»" in words


@pytest.mark.parametrize(("argv", "expected"), [
    pytest.param(["report", "--yaer", "2026"], "неизвестный параметр --yaer (может быть, --year?)",
                 id="a misspelt option is named though --year is missing too"),
    pytest.param(["report"], "не указаны обязательные параметры: --year", id="a required option left out"),
    pytest.param(["report", "--year"], "--year: после параметра нужно значение", id="an option without its value"),
    pytest.param(["report", "--year", "20x5"], "«20x5» — не год; нужен год кампании из четырёх цифр",
                 id="a year that is not a number"),
    pytest.param(["frobnicate"], "«frobnicate» — нет такого варианта; возможны: 'validate'", id="an unknown command"),
    pytest.param([], "не указаны обязательные параметры: КОМАНДА", id="no command at all"),
    pytest.param(["status", "--year", "2025", "лишнее"], "неизвестные параметры: лишнее", id="an extra argument"),
    pytest.param(["status", "--year", "2025", "--json=да"], "лишнее значение «да»", id="a value to a flag"),
    pytest.param(["validate"], "не указаны обязательные параметры: ФАЙЛ", id="validate without files"),
    pytest.param(["collect", "--year", "2025", "--d"], "неоднозначный параметр --d: подходят --debug, --dry-run",
                 id="an abbreviation of two options"),
])
def test_usage_errors_are_russian_and_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str],
                                             expected: str) -> None:
    code, out, err = eibm(capsys, *argv)
    assert (code, out) == (2, "")
    assert err.startswith("Использование: eibm")
    assert expected in err
    assert "Справка: eibm" in err
    assert english_words(err, *argv) == []


@pytest.mark.parametrize(("old", "new", "expected"), [
    pytest.param('deadline = "01.10.N"', 'deadline = "01.13.N"',
                 "ключ «calendar.deadline»: «01.13.N» — не дата; нужна форма ДД.ММ.N (N — год кампании), "
                 "например 20.05.N", id="a thirteenth month"),
    pytest.param('window_close = "31.10.N"', 'window_close = "31.02.N"',
                 "ключ «calendar.window_close»: «31.02.N» — не дата; нужна форма ДД.ММ.N", id="31 February"),
    pytest.param('window_open = "01.04.N"', 'window_open = "29.02.N"',
                 "«29.02.N» — 29 февраля бывает не каждый год", id="29 February"),
    pytest.param('window_open = "01.04.N"', 'window_open = "1 апреля"',
                 "«1 апреля» — не дата; нужна форма ДД.ММ.N", id="a date in words"),
    pytest.param('deadline = "01.10.N"', "deadline = 01.10.N",
                 "строка 39, столбец 13: ошибка синтаксиса TOML — после значения в строке лишнее: текст пишется "
                 "в кавычках", id="a date without quotes"),
    pytest.param('name = "Демонстрационный район"', 'name = "Демонстрационный район',
                 "строка 7, столбец 31: ошибка синтаксиса TOML — строка не закрыта кавычкой",
                 id="an unclosed quote"),
    pytest.param("[calendar]", "[calendar", "ошибка синтаксиса TOML — заголовок раздела не закрыт «]»",
                 id="an unclosed section"),
    pytest.param('name = "Демонстрационный район"', "name = 5",
                 "ключ «district.name»: неверный тип значения: записано целое число, нужно текст в кавычках",
                 id="a number where text belongs"),
    pytest.param("first_campaign = 2024", 'first_campaign = "2024"',
                 "неверный тип значения: записано текст в кавычках, нужно целое число", id="a quoted number"),
])
def test_district_data_errors_name_the_file_the_key_and_the_form(
        capsys: pytest.CaptureFixture[str], workspace: Path, old: str, new: str, expected: str) -> None:
    break_district(workspace, old, new)
    code, out, err = eibm(capsys, "status", "--year", "2025")
    assert (code, out) == (2, "")
    assert err.startswith("Ошибка в данных района: inputs/district.toml")
    assert expected in err
    assert english_words(err) == []


def test_an_unreadable_district_file_is_not_an_unexpected_error(
        capsys: pytest.CaptureFixture[str], workspace: Path) -> None:
    (workspace / "inputs" / "district.toml").write_bytes("name = 'Район'".encode("cp1251"))
    code, _, err = eibm(capsys, "status", "--year", "2025")
    assert code == 2
    assert "inputs/district.toml: файл не в кодировке UTF-8 — сохраните его в UTF-8" in err


def test_outputs_that_are_a_file_are_named_in_russian(capsys: pytest.CaptureFixture[str], workspace: Path) -> None:
    (workspace / "results").write_text("", encoding="utf-8")
    code, out, err = eibm(capsys, "status", "--year", "2025", "--outputs", "results")
    assert (code, out) == (2, "")
    assert err.startswith("Ошибка: На месте папки ")
    assert err.endswith("results стоит файл: уберите его или выберите другую папку "
                        "(папка результатов задаётся параметром --outputs)\n")


def test_inputs_under_a_file_are_named_in_russian(capsys: pytest.CaptureFixture[str], workspace: Path) -> None:
    (workspace / "results").write_text("", encoding="utf-8")
    code, _, err = eibm(capsys, "status", "--year", "2025", "--inputs", "results/inputs")
    assert code == 2
    assert err.startswith("Ошибка: В пути results/inputs/district.toml вместо папки стоит файл: проверьте путь")
    assert "(папка входных данных задаётся параметром --inputs)" in err


@pytest.mark.skipif(not Path("/sys/kernel").is_dir(), reason="needs a folder the system refuses even to root")
def test_outputs_where_writing_is_refused_say_so(capsys: pytest.CaptureFixture[str], workspace: Path) -> None:
    code, _, err = eibm(capsys, "status", "--year", "2025", "--outputs", "/sys/eibm-results")
    assert code == 2
    assert err.startswith("Ошибка: Нет доступа к /sys/eibm-results")
    assert "Errno" not in err and english_words(err) == []


@pytest.mark.parametrize(("code", "expected"), [
    pytest.param(errno.ENOSPC, "На диске нет места для out/2025/report.pdf: освободите место", id="disk full"),
    pytest.param(errno.EACCES, "Нет доступа к out/2025/report.pdf: проверьте права", id="permission denied"),
    pytest.param(errno.ENOENT, "Нет такой папки или файла: out/2025/report.pdf — проверьте путь", id="missing"),
    pytest.param(errno.ELOOP, "Ошибка файловой системы ELOOP при работе с out/2025/report.pdf", id="a rare one"),
])
def test_system_refusals_in_russian_with_the_path(code: int, expected: str) -> None:
    message = describe_os_error(OSError(code, "English words", "out/2025/report.pdf"), outputs=Path("out"))
    assert message.startswith(expected)
    assert message.endswith("(папка результатов задаётся параметром --outputs)")
    assert english_words(message) == []


def test_report_of_a_year_without_a_drop_folder_is_refused(capsys: pytest.CaptureFixture[str],
                                                           workspace: Path) -> None:
    shutil.rmtree(workspace / "inputs" / "2025")
    code, out, err = eibm(capsys, "report", "--year", "2025")
    assert (code, out) == (2, "")
    assert err == ("Отчёт за 2025 год не построен: нет папки отчётов школ inputs/2025 — проверьте год и папку "
                   "входных данных (--inputs).\nПостроить черновик с пометкой «Черновик» на каждой странице: "
                   "eibm report --year 2025 --force\n")
    assert not (workspace / "outputs" / "2025" / "report.pdf").exists()


def test_report_before_the_window_opens_is_refused(capsys: pytest.CaptureFixture[str], workspace: Path) -> None:
    (workspace / "inputs" / "2099").mkdir()
    code, _, err = eibm(capsys, "report", "--year", "2099")
    assert code == 2
    assert ("сбор отчётов ещё не начался — он открывается 01.04.2099 (district.toml, [calendar] window_open)"
            in err)
    assert "eibm report --year 2099 --force" in err
    assert english_words(err) == []

    district = workspace / "inputs" / "district.toml"  # a year's own window is named where it is set
    district.write_text(district.read_text(encoding="utf-8") + '\n[campaigns.2099]\nwindow_open = "15.05.2099"\n',
                        encoding="utf-8")
    _, _, err = eibm(capsys, "report", "--year", "2099")
    assert "открывается 15.05.2099 (district.toml, [campaigns.2099] window_open)" in err


def test_forced_report_is_a_draft_on_every_page(workspace: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "eibm.cli", "report", "--year", "2099", "--force"], cwd=workspace,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("Черновик итогового отчёта 2099: последний сбор, свод и вёрстка…")
    assert "Это черновик (--force): на каждой странице пометка «Черновик»." in run.stdout
    assert re.search(r"Готово за \d+ с\.", run.stdout)
    # A decimal comma, never a point (the server's address, http://127.0.0.1:…, is not a number).
    assert not re.search(r"\d\.\d", re.sub(r"https?://\S+", "", run.stdout.replace(str(workspace), "")))
    assert english_words(run.stdout.replace(str(workspace), "")) == []
    pdf = workspace / "outputs" / "2099" / "report.pdf"
    pages = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                           check=True).stdout.split("\f")[:-1]
    assert len(pages) > 3
    assert [number for number, page in enumerate(pages, start=1) if "Черновик" not in page] == []


def test_checker_finds_an_untranslated_word(capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(usage.RUSSIAN, "show this help message and exit")
    _, out, _ = eibm(capsys, "status", "--help")
    assert english_words(out) == ["show", "this", "help", "message", "and", "exit"]


@pytest.mark.parametrize(("argv", "expected"), [
    pytest.param(["status", "--year", "2025", "--ledger", "журнал"],
                 "Ошибка: адрес журнала (--ledger или переменная EIBM_LEDGER_URL) не разобран: нужен адрес вида",
                 id="a ledger address that is not one"),
    pytest.param(["status", "--year", "2025", "--ledger", "postgresql+psycopg://analyst:secret@127.0.0.1:1/ledger"],
                 "Ошибка: журнал postgresql+psycopg://analyst:***@127.0.0.1:1/ledger недоступен: проверьте адрес",
                 id="a ledger server that does not answer, its password hidden"),
    pytest.param(["collect", "--year", "2031"],
                 "Ошибка: нет папки отчётов школ inputs/2031 — проверьте год и папку входных данных (--inputs)",
                 id="collect of a year without a drop folder"),
    pytest.param(["validate", "нет-такого.xlsx", "--year", "2025"], "Ошибка: файл не найден: нет-такого.xlsx",
                 id="validate of a missing file"),
])
def test_run_errors_are_russian_and_exit_2(capsys: pytest.CaptureFixture[str], workspace: Path, argv: list[str],
                                           expected: str) -> None:
    code, out, err = eibm(capsys, *argv)
    assert (code, out) == (2, "")
    assert err.startswith(expected)
    assert "secret" not in err
    assert english_words(err, *argv) == []
