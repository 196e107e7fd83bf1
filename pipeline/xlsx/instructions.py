"""The «Инструкция» sheet of the template: this campaign's dates, how to fill each sheet, how to send, whom to ask."""

from __future__ import annotations

import math
from dataclasses import dataclass

from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

from pipeline.district.layout import AWARDS, COURSES, INDICATORS, ROADMAP, STAFF, TITLE
from pipeline.district.register import School
from pipeline.district.roadmap import Campaign, District
from pipeline.typography import ru_short_date
from pipeline.xlsx.prompts import example_date, listed_codes
from pipeline.xlsx.text import put_text

LABEL_WIDTH = 22
TEXT_WIDTH = 100
# Excel does not grow a row for wrapped text it did not lay out itself: heights are estimated from the text.
LINE_HEIGHT = 15
CHARACTERS_PER_LINE = TEXT_WIDTH * 0.85  # Cyrillic runs wider than the «0» a width counts: spare, not clip
ACCEPTED_FILES = ".xlsx (подойдут также .xlsm, .xls, .ods или CSV-файлы листов)"

TITLE_FONT = Font(bold=True, size=14)
HEADING_FONT = Font(bold=True, size=12)
HEADING_FILL = PatternFill("solid", fgColor="DDEBF7")
LABEL_FONT = Font(bold=True)
TOP_LEFT = Alignment(wrap_text=True, vertical="top")


@dataclass(frozen=True)
class Line:
    """One row of the instruction: a heading (no label) or a labelled paragraph."""

    label: str
    text: str = ""
    heading: bool = False


def build_instructions(district: District, school: School, campaign: Campaign, send_to: str | None) -> list[Line]:
    """The instruction's rows for *school* in *campaign*; *send_to* is the district's mailbox, None without one."""
    start, end = ru_short_date(campaign.period_start), ru_short_date(campaign.period_end)
    school_year = ""
    if campaign.period_end.year == campaign.period_start.year + 1:
        school_year = f" ({campaign.period_start.year}/{campaign.period_end.year} учебный год)"
    return [
        Line("Сроки", heading=True),
        Line("Отчётный период", f"с {start} по {end}{school_year}. Даты мероприятий, курсов и поощрений — "
                                "из этого периода (кроме мероприятий «выполнено ранее»)."),
        Line("Приём отчётов", f"с {ru_short_date(campaign.window_open)} по {ru_short_date(campaign.window_close)}."),
        Line("Срок сдачи", f"{ru_short_date(campaign.deadline)} включительно. Отчёт сдан в срок, если не позднее этого "
                           "дня прислан файл без ошибок; файл с ошибками отклоняется — оставьте время на исправление."),
        Line("Как заполнить", heading=True),
        Line("Общие правила", "\n".join(_general_rules(campaign))),
        *(Line(sheet, text) for sheet, text in _sheet_rules(district, campaign)),
        Line("Как сдать", heading=True),
        *_sending(district, school, campaign, send_to),
        Line("Что будет дальше", heading=True),
        *_afterwards(send_to),
        Line("Вопросы", heading=True),
        Line("Контакт", _contact(district)),
    ]


def write_instructions(sheet: Worksheet, district: District, school: School, campaign: Campaign,
                       send_to: str | None) -> None:
    """Fill *sheet* with the instruction: a title, then the rows of build_instructions; protect it."""
    sheet.column_dimensions["A"].width = LABEL_WIDTH
    sheet.column_dimensions["B"].width = TEXT_WIDTH
    put_text(sheet["A1"], f"Отчёт ИБЦ за {campaign.year} год: как заполнить и сдать").font = TITLE_FONT
    put_text(sheet["A2"], f"{school.name}, код ОО {school.code}. Форма {district.format_version}.")
    row = 2
    for line in build_instructions(district, school, campaign, send_to):
        row += 2 if line.heading else 1  # a blank row before each heading
        label = put_text(sheet.cell(row=row, column=1), line.label)
        if line.heading:
            label.font = HEADING_FONT
            for column in (1, 2):
                sheet.cell(row=row, column=column).fill = HEADING_FILL
            sheet.row_dimensions[row].height = LINE_HEIGHT * 1.4
            continue
        label.font = LABEL_FONT
        label.alignment = TOP_LEFT
        put_text(sheet.cell(row=row, column=2), line.text).alignment = TOP_LEFT
        sheet.row_dimensions[row].height = LINE_HEIGHT * _line_count(line.text)
    sheet.sheet_view.showGridLines = False
    sheet.page_setup.orientation = "portrait"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    # Nothing to fill here: the whole sheet is locked, without a password, like the labels of the others.
    sheet.protection.sheet = True


def _general_rules(campaign: Campaign) -> list[str]:
    return [
        "• Заполняйте белые ячейки; серые заполнены заранее и защищены от изменений.",
        "• Выделите ячейку — рядом появится подсказка, что в неё вписать.",
        "• Если у ячейки есть стрелка, выберите значение из списка.",
        f"• Даты — в формате ДД.ММ.ГГГГ, например {ru_short_date(example_date(campaign))}.",
        "• Числа — без единиц измерения, дробную часть отделяйте запятой. «0» — тоже значение: если "
        "количество равно нулю, впишите 0, а не оставляйте ячейку пустой.",
        f"• Не переименовывайте листы и столбцы; не удаляйте и не переставляйте строки листов «{ROADMAP}» "
        f"и «{INDICATORS}».",
    ]


def _sheet_rules(district: District, campaign: Campaign) -> list[tuple[str, str]]:
    start, end = ru_short_date(campaign.period_start), ru_short_date(campaign.period_end)
    rules = district.item_rules
    optional = [indicator.code for indicator in district.indicators if not indicator.always_required]
    without_library = f" При «нет библиотеки» можно не заполнять {optional[0]}–{optional[-1]}." if optional else ""
    return [
        (TITLE, "Впишите ФИО и e-mail ответственного, телефон (по желанию) и дату заполнения; выберите из "
                "списков должность ответственного и есть ли в школе библиотека. Версия шаблона, код ОО, наименование "
                "школы и отчётный год уже заполнены; если в них ошибка, сообщите в управление образования."),
        (ROADMAP, f"Для каждого мероприятия выберите «Статус». «выполнено» — укажите «Дату выполнения» с {start} "
                  f"по {end}. «выполнено ранее» — только для мероприятий с датой в столбце «Срок», дата раньше "
                  f"{start}, но не раньше {ru_short_date(district.model_start)}. Для «не выполнено» и «не требуется» "
                  f"напишите причину в «Комментарии»; «не требуется» можно только для "
                  f"{listed_codes(rules.may_be_not_required)}. У выполненных мероприятий "
                  f"{listed_codes(rules.needs_document)} укажите документ и его реквизиты, у "
                  f"{listed_codes(rules.needs_quantity)} — количество, у {listed_codes(rules.needs_link)} — "
                  "ссылки на сайт школы."),
        (STAFF, "Одна строка на каждого сотрудника библиотеки на дату отчёта. ФИО не обязательны: пишите "
                f"«Сотрудник 1», «Сотрудник 2» — и так же на листах «{COURSES}» и «{AWARDS}». Если библиотеки нет, "
                "оставьте лист пустым."),
        (COURSES, f"Одна строка на каждое обучение сотрудника, законченное с {start} по {end}. Если мероприятие "
                  f"{listed_codes(rules.needs_course)} выполнено, лист не может быть пустым."),
        (AWARDS, f"Одна строка на каждое представление к поощрению или полученное поощрение с {start} по {end}. "
                 f"Если мероприятие {listed_codes(rules.needs_award)} выполнено, лист не может быть пустым."),
        (INDICATORS, "Значения за отчётный период (фонд — на его конец); определения — как в форме ОО-2, числа "
                     f"можно взять оттуда.{without_library}"),
    ]


def _sending(district: District, school: School, campaign: Campaign, send_to: str | None) -> list[Line]:
    limit = district.max_file_bytes / (1024 * 1024)
    files = Line("Какие файлы", f"Этот файл {ACCEPTED_FILES}, не больше {limit:g} МБ. Имя файла любое, например "
                                f"{school.code}_ИБЦ_{campaign.year}.xlsx. Ссылки на облачные диски и архивы (.zip, "
                                ".rar) не принимаются.")
    if send_to is None:
        return [Line("Куда", f"Передайте заполненный файл в {_office(district)}: специалисту, указанному ниже, "
                             "по электронной почте или на флеш-накопителе."), files]
    own = f"с адреса школы {school.email}" if school.email else "с адреса школы, известного управлению образования"
    return [
        Line("Куда", f"По электронной почте на адрес {send_to}: заполненный файл вложением. Отправляйте {own} — "
                     "на него придёт ответ; отчёт с другого адреса дополнительно проверит специалист управления "
                     "образования."),
        files,
    ]


def _afterwards(send_to: str | None) -> list[Line]:
    findings = ("принят отчёт или отклонён, список замечаний с листом и ячейкой каждого и копия вашего файла, где "
                "эти ячейки отмечены цветом")
    again = "передайте" if send_to is None else "пришлите"
    if send_to is None:
        check = f"Файл проверяется автоматически. Результат — {findings} — передаст специалист управления образования."
    else:
        check = f"Каждый присланный файл проверяется автоматически. Ответ придёт по электронной почте: {findings}."
    return [
        Line("Проверка", check),
        Line("Если отклонён", f"Исправьте ошибки в этом же файле и {again} его снова. Засчитывается последний "
                              "принятый файл. Предупреждения не мешают принять отчёт, но эти значения стоит "
                              "проверить."),
    ]


def _contact(district: District) -> str:
    office = district.office
    person = ", ".join(part for part in (office.executor_name, office.executor_position) if part)
    reach = "; ".join(part for part in (f"тел. {office.executor_phone}" if office.executor_phone else "",
                                        f"e-mail {office.executor_email}" if office.executor_email else "") if part)
    return "\n".join(part for part in (person, reach, _office(district)) if part)


def _office(district: District) -> str:
    """«Управление образования Администрации …» as the district names it, else the district's own name."""
    return district.office.full_name or district.name


def _line_count(text: str) -> int:
    return sum(max(1, math.ceil(len(paragraph) / CHARACTERS_PER_LINE)) for paragraph in text.split("\n"))
