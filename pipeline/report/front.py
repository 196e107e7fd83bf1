"""The report as a department's document: cover with the approval stamp, method section, executor's mark."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.district.roadmap import Office
from pipeline.report.model import YearReport
from pipeline.statuses import SchoolState
from pipeline.typography import count, ru_date, tie_text

GENRE = "Аналитическая справка по итогам мониторинга реализации единой информационно-библиотечной модели"
SHORT_TITLE = "Аналитическая справка о реализации ЕИБМ"
METHOD_TITLE = "Введение и методика"
# A key left out of district.toml is a line to fill in by hand (ГОСТ Р 7.0.97: the stamp is signed on paper).
BLANK_LINE = "_" * 28
SIGNATURE_LINE = "_" * 14
DATE_LINE = "«___»\u00a0____________\u00a020__\u00a0г."
NBSP = "\u00a0"


@dataclass(frozen=True)
class Stamp:
    """The approval stamp (гриф утверждения), top right of the cover: УТВЕРЖДАЮ, position, signature, date."""

    position: str
    name: str
    signature: str = SIGNATURE_LINE
    date: str = DATE_LINE


@dataclass(frozen=True)
class Passage:
    """One numbered subsection of the method: its heading, its paragraphs and its list of points."""

    number: str
    heading: str
    paragraphs: list[str]
    points: list[str]


@dataclass(frozen=True)
class Front:
    """What the cover, the method section and the executor's mark say, already worded."""

    issuer: str
    title: str
    stamp: Stamp
    method: list[Passage]
    executor: list[str]


def build_front(report: YearReport, attachments: list[str], method_number: str = "1") -> Front:
    """The cover, the method section (numbered *method_number*) and the executor's mark of *report*."""
    office = report.office
    return Front(
        issuer=office.full_name or BLANK_LINE,
        title=report_title(report),
        stamp=Stamp(position=office.approver_position or BLANK_LINE, name=office.approver_name or BLANK_LINE),
        method=_method(report, attachments, method_number),
        executor=executor_lines(office),
    )


def report_title(report: YearReport) -> str:
    """«Аналитическая справка … в Демонстрационном районе за 2024/2025 учебный год»."""
    place = report.office.name_locative or f"муниципальном образовании «{report.district}»"
    return f"{GENRE} в{NBSP}{place} за{NBSP}{school_year(report)}{NBSP}учебный год"


def school_year(report: YearReport) -> str:
    return f"{report.period[0].year}/{report.period[1].year}"


def executor_lines(office: Office) -> list[str]:
    """The executor's mark (отметка об исполнителе): name and position, then telephone and e-mail."""
    who = ", ".join(part for part in (office.executor_name, office.executor_position) if part)
    phone = f"тел. {office.executor_phone or SIGNATURE_LINE}"
    contact = ", ".join([phone, f"e-mail: {office.executor_email}"] if office.executor_email else [phone])
    return [f"Исполнитель: {who or BLANK_LINE}", contact]


def _method(report: YearReport, attachments: list[str], number: str) -> list[Passage]:
    passages = [
        ("Цель, основание и период", _purpose(report), []),
        ("Сбор отчётов", [_collection(report)], []),
        ("Что считается выполненным", [
            "Мероприятие считается выполненным, если ОО указала статус «выполнено» (сделано в отчётном "
            "периоде) или «выполнено ранее» (сделано до его начала, но не раньше начала реализации Модели). "
            "Статусы «в работе» и «не выполнено» означают, что мероприятие не выполнено; «не требуется» — что "
            "оно к ОО не относится (например, единственный библиотекарь уже прошёл обучение). Просроченным "
            "считается мероприятие, не выполненное к сроку, который установлен дорожной картой."], []),
        ("Индекс выполнения дорожной карты", [
            "Индекс выполнения дорожной карты ОО — доля выполненных мероприятий среди мероприятий, которые к "
            "ней относятся: число мероприятий со статусом «выполнено» или «выполнено ранее», делённое на "
            "число мероприятий дорожной карты без отмеченных «не требуется». Средний индекс по району — "
            "среднее арифметическое индексов ОО, отчёты которых приняты."], []),
        ("Как считаются доли", ["Во всех таблицах, рисунках и выводах справки доли считаются по одному правилу:"],
         SHARE_RULE),
        ("Источники данных", [
            "Справка построена по отчётам ОО, поданным по единой форме (рабочая книга Excel: титульный "
            "лист, дорожная карта, кадры и повышение квалификации, поощрения, показатели библиотеки) и "
            "принятым после автоматической проверки, по реестру ОО района и, для сравнения с прошлым годом, "
            "по принятым отчётам прошлой кампании. Значения показателей приводятся так, как их указали ОО; "
            "замечания проверки к данным перечислены в приложении."], []),
        ("О данных", _about_data(report, attachments), []),
    ]
    # «№ 12» of the district's act and «5 ОО» never part at a line's end.
    return [Passage(f"{number}.{index}", heading, [tie_text(text) for text in paragraphs],
                    [tie_text(text) for text in points])
            for index, (heading, paragraphs, points) in enumerate(passages, start=1)]


# The one rule for every share in the report (issue 12); the section builders compute by it.
SHARE_RULE = [
    "база доли — ОО, к которым относится показатель: для мероприятия дорожной карты это ОО с принятым "
    "отчётом, кроме отметивших «не требуется»; такие ОО показываются отдельно и в знаменатель не входят;",
    "доля людей (например, сотрудников библиотек, прошедших курсы) считается от числа людей и подписывается "
    "в людях: «n из N чел.»;",
    "при каждом проценте указано, из скольких он посчитан: «n из N ОО» или «n из N чел.»;",
    "сравнение с прошлым годом ведётся только по ОО, отчёты которых приняты в обоих годах; их число "
    "указано при сравнении;",
    "изменение доли указывается в процентных пунктах (п.\u00a0п.), изменение количества — в единицах "
    "показателя; уменьшение записывается со знаком «−».",
]


def _purpose(report: YearReport) -> list[str]:
    period_start, period_end = report.period
    basis = report.office.basis or "дорожная карта реализации Модели"
    dates = (f"Отчётный период — {school_year(report)} учебный год (с {ru_date(period_start)} по "
             f"{ru_date(period_end)}); срок сдачи отчётов ОО — {ru_date(report.deadline)}")
    if report.window:
        dates += f"; приём отчётов — с {ru_date(report.window[0])} по {ru_date(report.window[1])}"
    return [
        "Цель мониторинга — оценить, как общеобразовательные организации (далее — ОО) реализуют единую "
        "информационно-библиотечную модель (далее — Модель) по мероприятиям дорожной карты, и определить, "
        "каким ОО и по каким мероприятиям нужна поддержка.",
        _sentence(f"Основание: {basis}"),
        _sentence(dates),
    ]


def _sentence(text: str) -> str:
    """*text* closed by one full stop, also when it ends on an abbreviation («… 2025 г.»)."""
    return text if text.endswith(".") else text + "."


def _collection(report: YearReport) -> str:
    """Expected, accepted (on time, late), only rejected files, missing: the numbers of the collection."""
    text = (f"Ожидались отчёты {count(report.expected, 'ОО')} из реестра района; "
            f"принято {count(report.accepted, 'отчёт')}")
    states = report.states
    if not states:
        return text + "."
    on_time, late, rejected, missing = (states.get(state, 0) for state in (
        SchoolState.ON_TIME, SchoolState.LATE, SchoolState.REJECTED, SchoolState.MISSING))
    return (f"{text} (в срок — {on_time}, с опозданием — {late}); только отклонённые при проверке файлы — "
            f"у {count(rejected, 'ОО')}; не сдали отчёт — {count(missing, 'ОО')}.")


def _about_data(report: YearReport, attachments: list[str]) -> list[str]:
    """The only place the report names files: what is attached to the PDF and what each holds."""
    described = {
        "svod.xlsx": "svod.xlsx — все таблицы справки в формате Excel, в том числе полные перечни по ОО",
        "files.csv": "files.csv — реестр файлов ОО, по которым построена справка (файл, контрольная сумма "
                     "SHA-256, ОО, результат проверки, время поступления)",
    }
    files = [described.get(name, name) for name in attachments]
    paragraphs = [f"Данные сформированы {ru_date(report.generated_at.date())} по состоянию сбора на эту дату."]
    if files:
        paragraphs.append("К PDF-версии справки приложены файлы: " + "; ".join(files) + ".")
    return paragraphs
