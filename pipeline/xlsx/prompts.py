"""The template's input messages: a short Russian hint for every cell a school fills, with the campaign's dates."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pipeline.district.layout import AWARDS, COURSES, INDICATORS, ROADMAP, STAFF, TITLE
from pipeline.district.roadmap import Campaign, District, Indicator, Item
from pipeline.typography import ru_short_date

# Excel refuses a longer input message (the file needs «repair»): 32 characters of title, 255 of text.
MAX_TITLE = 32
MAX_TEXT = 255
LIST_HINT = "Выберите значение из списка: стрелка справа от ячейки."
PREFILLED = "Заполнено заранее"
STAFF_LABEL = "Так же, как на листе «Сотрудники», например «Сотрудник 1»."


@dataclass(frozen=True)
class Prompt:
    """What Excel shows beside a selected cell: a bold title and a line or two of text."""

    title: str
    text: str

    def __post_init__(self) -> None:
        # District data (an item's quantity wording) goes into some texts: clip rather than write a broken file.
        object.__setattr__(self, "title", _clipped(self.title, MAX_TITLE))
        object.__setattr__(self, "text", _clipped(self.text, MAX_TEXT))


def example_date(campaign: Campaign) -> dt.date:
    """A date inside the reporting period for examples: the 20th, three months before the period ends."""
    end = campaign.period_end
    month, year = end.month - 3, end.year
    if month < 1:
        month, year = month + 12, year - 1
    candidate = dt.date(year, month, 20)
    if campaign.period_start <= candidate <= end:
        return candidate
    return campaign.period_start + (end - campaign.period_start) / 2


def build_prompts(district: District, campaign: Campaign) -> dict[tuple[str, str], Prompt]:
    """The input message of every «Титул» field and every column a school fills, keyed by (sheet, name)."""
    start, end = ru_short_date(campaign.period_start), ru_short_date(campaign.period_end)
    example = ru_short_date(example_date(campaign))
    within = f"с {start} по {end}, например {example}"
    model_start = ru_short_date(district.model_start)
    rules = district.item_rules
    optional = [indicator.code for indicator in district.indicators if not indicator.always_required]
    not_without_library = f"{optional[0]}–{optional[-1]}" if optional else ""
    with_document = f"мероприятий {listed_codes(rules.needs_document)}, если они выполнены"
    with_link = f"мероприятий {listed_codes(rules.needs_link)}, если они выполнены"
    texts = {
        (TITLE, "Версия шаблона"): (PREFILLED, "Версия формы отчёта. Не изменяйте: по ней отчёт узнают при приёме."),
        (TITLE, "Код ОО"): (PREFILLED, "Код школы в реестре района. Если он неверен, сообщите в управление "
                                       "образования."),
        (TITLE, "Наименование ОО"): (PREFILLED, "Наименование из реестра района. Если оно неверно, сообщите в "
                                                "управление образования."),
        (TITLE, "Отчётный год"): (PREFILLED, f"Отчёт за {campaign.year} год: период с {start} по {end}."),
        (TITLE, "ФИО ответственного"): ("ФИО ответственного",
                                        "Фамилия, имя, отчество того, кто заполнил отчёт (от 3 до 100 символов)."),
        (TITLE, "Должность ответственного"): ("Должность ответственного", LIST_HINT),
        (TITLE, "Телефон"): ("Телефон", "Необязательно. Цифры, «+», пробелы, скобки и дефис, например "
                                        "8 (3822) 12-34-56."),
        (TITLE, "E-mail"): ("E-mail", "Адрес электронной почты ответственного для вопросов по отчёту."),
        (TITLE, "Дата заполнения"): ("Дата заполнения", f"Дата, когда отчёт заполнен, в формате ДД.ММ.ГГГГ "
                                                        f"(не раньше {start})."),
        (TITLE, "Библиотека"): ("Библиотека", "Выберите из списка. При «нет библиотеки» лист «Сотрудники» и "
                                              f"показатели {not_without_library} можно не заполнять."),
        (ROADMAP, "Статус"): ("Статус", f"Выберите из списка. «выполнено» — в отчётном периоде, с датой; "
                                        f"«выполнено ранее» — до {start}, только если в «Сроке» дата; "
                                        "«не выполнено» и «не требуется» — с причиной в «Комментарии»."),
        (ROADMAP, "Дата выполнения"): ("Дата выполнения", f"ДД.ММ.ГГГГ. Для «выполнено» — {within}; для "
                                                          f"«выполнено ранее» — раньше {start}, но не раньше "
                                                          f"{model_start}. При других статусах оставьте пустой."),
        (ROADMAP, "Документ"): ("Документ", f"Выберите вид документа из списка. Обязателен для {with_document}."),
        (ROADMAP, "Реквизиты документа"): ("Реквизиты документа", f"Номер и дата документа, например «№ 45-од от "
                                                                  f"{example}». Обязательны для {with_document}."),
        (ROADMAP, "Ссылки"): ("Ссылки", "Адреса страниц сайта школы (https://…); несколько — через «;» или с новой "
                                        f"строки. Обязательны для {with_link}."),
        (ROADMAP, "Комментарий"): ("Комментарий", "Причина, если «не выполнено» или «не требуется»; иначе — по "
                                                  "желанию. До 500 символов."),
        (STAFF, "Сотрудник"): ("Сотрудник", "Обозначение, например «Сотрудник 1»: ФИО не обязательны. Так же "
                                            "пишите его на листах «Курсы» и «Поощрения»."),
        (STAFF, "Должность"): ("Должность", LIST_HINT),
        (STAFF, "Ставка"): ("Ставка", "Число от 0,25 до 2 с шагом 0,25, например 0,5 или 1."),
        (STAFF, "Характер работы"): ("Характер работы", LIST_HINT),
        (STAFF, "Образование"): ("Образование", LIST_HINT),
        (STAFF, "Стаж в должности, лет"): ("Стаж в должности, лет",
                                           "Целое число полных лет в этой должности, от 0 до 60."),
        (STAFF, "КПК за последние 3 года"): ("КПК за последние 3 года",
                                             "«да», если сотрудник прошёл курсы повышения квалификации за последние "
                                             "три года; иначе «нет»."),
        (COURSES, "Сотрудник"): ("Сотрудник", STAFF_LABEL),
        (COURSES, "Вид программы"): ("Вид программы", LIST_HINT),
        (COURSES, "Название программы"): ("Название программы", "Как в документе об обучении. До 300 символов."),
        (COURSES, "Организация"): ("Организация", "Кто проводил обучение, например ТОИПКРО."),
        (COURSES, "Объём, часов"): ("Объём, часов", f"Целое число часов, не меньше: {_minimum_hours(district)}."),
        (COURSES, "Дата окончания"): ("Дата окончания", f"ДД.ММ.ГГГГ, {within}."),
        (COURSES, "Документ"): ("Документ", f"{LIST_HINT} Можно не заполнять для "
                                            f"{_quoted(district.document_optional)}."),
        (AWARDS, "Сотрудник"): ("Сотрудник", STAFF_LABEL),
        (AWARDS, "Вид поощрения"): ("Вид поощрения", LIST_HINT),
        (AWARDS, "Уровень"): ("Уровень", LIST_HINT),
        (AWARDS, "Статус"): ("Статус", "«представлен» — документы на поощрение поданы; «получено» — поощрение "
                                       "вручено."),
        (AWARDS, "Дата"): ("Дата", f"Дата представления или поощрения, ДД.ММ.ГГГГ, {within}."),
        (INDICATORS, "Пояснение"): ("Пояснение", "Необязательно: поясните значение, например почему 0. "
                                                 "До 500 символов."),
    }
    return {key: Prompt(title, text) for key, (title, text) in texts.items()}


def quantity_prompt(item: Item) -> Prompt:
    """The input message of «Количество» for one roadmap item: what to count, when the item asks for a count."""
    if item.quantity:
        return Prompt("Количество", f"Укажите {item.quantity} (целое число). Для «выполнено» — не меньше 1.")
    return Prompt("Количество", "Необязательно. Целое число не меньше 0.")


def indicator_prompt(indicator: Indicator) -> Prompt:
    """The input message of one indicator's «Значение»: its kind, its bounds and whether it may stay empty."""
    if indicator.kind == "yes_no":
        text = "Выберите «да» или «нет» из списка."
    else:
        noun = "Целое число" if indicator.kind == "whole" else "Число"
        if indicator.max is not None:
            text = f"{noun} от 0 до {indicator.max:g}"
        elif indicator.positive:
            text = f"{noun} больше 0"
        else:
            text = f"{noun} не меньше 0"
        if indicator.unit == "%":
            text += ", в процентах: 95 — это 95 %, не 0,95."
        elif indicator.positive:
            text += ", без единиц измерения."
        else:
            text += ", без единиц измерения. «0» — тоже значение."
    if indicator.optional:
        text = f"Необязательно. {text}"
    return Prompt(f"{indicator.code}, {indicator.unit}", text)


def listed_codes(codes: tuple[str, ...]) -> str:
    """«1.1, 1.4а и 1.4б»."""
    if len(codes) < 2:
        return "".join(codes)
    return f"{', '.join(codes[:-1])} и {codes[-1]}"


def _quoted(values: tuple[str, ...]) -> str:
    return ", ".join(f"«{value}»" for value in values)


def _minimum_hours(district: District) -> str:
    """«повышение квалификации — 16, профессиональная переподготовка — 250, остальные — 1»."""
    ones = [name for name, hours in district.min_hours.items() if hours <= 1]
    parts = [f"{name} — {hours}" for name, hours in district.min_hours.items() if hours > 1]
    if ones:
        parts.append("остальные — 1")
    return ", ".join(parts)


def _clipped(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
