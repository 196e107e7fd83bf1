"""The catalogue of finding codes (REPORT_FORMAT §6): each code once, with its Russian message and hint."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass
from typing import Any

ERROR = "error"
WARNING = "warning"
SEVERITY_RU = {ERROR: "ошибка", WARNING: "предупреждение"}


@dataclass(frozen=True)
class Finding:
    """One problem found in a school's file, located to a sheet and a cell."""

    code: str
    severity: str
    sheet: str
    cell: str
    value: str
    message: str
    hint: str

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class _Entry:
    severity: str
    message: str
    hint: str


_S04_HINT = "Укажите на листе «Титул» код ОО из реестра района (его можно узнать в управлении образования)."
_S08_HINT = "Каждое мероприятие дорожной карты должно быть указано ровно один раз, с кодом из шаблона."
_S09_HINT = "Можно удалить; данные из него не попадут в отчёт района."
_R10_HINT = "Проверьте дату; если срок нарушен, поясните причину в комментарии."
_L06_HINT = "Проверьте значения; если они верны, поясните в столбце «Пояснение»."
_L07_HINT = "P22 = «да» тогда и только тогда, когда мероприятие 2 выполнено."

# Messages are str.format templates; their fields are filled from the keyword arguments of build().
# A code with several messages (one per reason, or two severities as R05 and L04) has an entry per
# variant under "<code>.<variant>": every text a school reads is here, none comes from a call site.
# S01 and S07 name what the reader found ({reason}: a phrase of intake/, e.g. «файл зашифрован»).
CATALOGUE: dict[str, _Entry] = {
    "S01": _Entry(ERROR, "Файл не удалось прочитать: {reason}.",
                  "Сохраните отчёт заново в Excel или LibreOffice в формате .xlsx (без пароля) и отправьте ещё раз."),
    "S02": _Entry(ERROR, "Нет обязательного листа «{name}».",
                  "Используйте шаблон отчёта: в нём есть все шесть листов. Не переименовывайте и не удаляйте листы."),
    "S03": _Entry(ERROR, "На листе нет обязательного столбца «{name}».",
                  "Верните столбец с точным заголовком из шаблона в первую строку листа."),
    "S04.unknown": _Entry(ERROR, "Код ОО «{school}» не найден в реестре школ района.", _S04_HINT),
    "S04.closed": _Entry(ERROR, "ОО {school} не участвует в кампании {year} (закрыта или ещё не открыта по реестру).",
                         _S04_HINT),
    "S05": _Entry(ERROR, "Отчётный год {found} не совпадает с годом кампании {year}.",
                  "Укажите отчётный год {year} или положите файл в папку своего года."),
    "S06": _Entry(WARNING, "Устаревшая версия шаблона «{found}»; текущая — «{current}».",
                  "Отчёт принят, но в следующий раз заполните новый шаблон."),
    "S07": _Entry(ERROR, "Файл превышает допустимые размеры: {reason}.",
                  "Удалите лишние строки и вложенные объекты; допустимо не более {limit}."),
    "S08.no_code": _Entry(ERROR, "Строка без кода мероприятия.", _S08_HINT),
    "S08.unknown": _Entry(ERROR, "Неизвестный код мероприятия «{item}».", _S08_HINT),
    "S08.repeated": _Entry(ERROR, "Мероприятие {item} указано повторно.", _S08_HINT),
    "S08.missing": _Entry(ERROR, "Нет строки мероприятия {item}.", _S08_HINT),
    "S09.sheet": _Entry(WARNING, "Лист «{name}» — не входит в форму и не учитывается.", _S09_HINT),
    "S09.csv_part": _Entry(WARNING, "Файл «{name}» — не входит в форму и не учитывается.", _S09_HINT),
    "S09.file": _Entry(WARNING, "Файл «{name}» (не лист формы) — не входит в форму и не учитывается.", _S09_HINT),
    "S09.column": _Entry(WARNING, "Столбец «{name}» — не входит в форму и не учитывается.", _S09_HINT),
    "S09.field": _Entry(WARNING, "Строка «{name}» (неизвестное поле) — не входит в форму и не учитывается.",
                        _S09_HINT),
    "S09.indicator": _Entry(WARNING, "Строка «{name}» (неизвестный код показателя) — не входит в форму и не "
                                     "учитывается.", _S09_HINT),
    "S09.repeated": _Entry(WARNING, "Повторная строка «{name}» (учитывается первая) — не входит в форму и не "
                                    "учитывается.", _S09_HINT),
    "S10": _Entry(WARNING, "Имя файла или папки указывает на другую ОО ({named}), а на листе «Титул» указан код ОО "
                           "{school}: отчёт засчитан ОО {school}.",
                  "Если файл отправлен за другую школу по ошибке, сообщите в управление образования; каждая школа "
                  "отправляет отчёт со своим кодом ОО на листе «Титул»."),
    "V01": _Entry(ERROR, "Не заполнено обязательное значение «{name}».",
                  "Заполните ячейку."),
    "V02": _Entry(ERROR, "«{value}» — не дата.",
                  "Укажите дату в формате ДД.ММ.ГГГГ."),
    "V03": _Entry(ERROR, "«{value}» — не {expected}.",
                  "Укажите {expected} без текста, например {example}."),
    "V04": _Entry(ERROR, "Значения «{value}» нет в списке.",
                  "Выберите одно из значений: {allowed}."),
    "V05": _Entry(ERROR, "Значение {value} вне допустимого диапазона ({bounds}).",
                  "Проверьте значение: допустимо {bounds}."),
    "V06": _Entry(ERROR, "«{value}» — не ссылка на сайт.",
                  "Укажите полный адрес страницы, например https://school.ru/ibc; несколько ссылок разделяйте «;»."),
    "V07": _Entry(ERROR, "«{value}» — не адрес электронной почты.",
                  "Укажите адрес вида name@school.ru."),
    "V08": _Entry(ERROR, "Текст длиннее {limit} символов ({length}).",
                  "Сократите текст до {limit} символов."),
    "V09": _Entry(ERROR, "В ячейке формула без вычисленного значения.",
                  "Откройте файл в Excel или LibreOffice и сохраните его заново (значения формул пересчитаются), "
                  "или замените формулу числом."),
    "R01": _Entry(ERROR, "Для статуса «выполнено» нужна дата выполнения в отчётном периоде ({period}) и не позже "
                         "даты заполнения.",
                  "Укажите дату выполнения в периоде {period}; "
                  "если мероприятие выполнено раньше — статус «выполнено ранее»."),
    "R02": _Entry(ERROR, "«выполнено ранее» допускается только для разовых мероприятий с датой до начала периода "
                         "({start}) и не ранее {model_start}.",
                  "Для ежегодного мероприятия укажите статус по текущему периоду; "
                  "для разового — дату выполнения до {start}."),
    "R03": _Entry(ERROR, "При статусе «{status}» дата выполнения не указывается.",
                  "Удалите дату или измените статус."),
    "R04": _Entry(ERROR, "При статусе «{status}» нужен комментарий с причиной.",
                  "Заполните «Комментарий»: почему мероприятие не выполнено или не требуется."),
    "R05": _Entry(ERROR, "Раздел «Школьные ИБЦ» на сайте отмечен как выполненный, но нет ссылки.",
                  "Укажите в «Ссылки» адрес раздела на сайте ОО."),
    "R05.warning": _Entry(WARNING, "Ссылка ведёт не на сайт ОО из реестра ({domains}).",
                   "Укажите ссылку на раздел официального сайта ОО; если адрес сайта изменился, сообщите в УО."),
    "R06": _Entry(ERROR, "Для выполненного мероприятия {item} нужны вид и реквизиты документа.",
                  "Заполните «Документ» и «Реквизиты документа», например «приказ» и «№ 45-од от 20.05.2024»."),
    "R07.quantity": _Entry(ERROR, "Для выполненного мероприятия {item} нужно «Количество» ≥ 1 ({quantity}).",
                           "Укажите «Количество» (целое число ≥ 1)."),
    "R07.link": _Entry(ERROR, "Для выполненного мероприятия {item} нужна ссылка на публикацию.",
                       "Укажите «Количество» (целое число ≥ 1) и ссылку на публикацию на сайте ОО."),
    "R08.courses": _Entry(ERROR, "Мероприятие {item} выполнено, но на листе «Курсы» нет ни одной строки.",
                          "Добавьте строку на лист «Курсы» или измените статус мероприятия."),
    "R08.awards": _Entry(ERROR, "Мероприятие {item} выполнено, но на листе «Поощрения» нет ни одной строки.",
                         "Добавьте строку на лист «Поощрения» или измените статус мероприятия."),
    "R09": _Entry(ERROR, "Статус «не требуется» недопустим для мероприятия {item}.",
                  "«не требуется» можно указать только для мероприятий 3.2 и 4.2; выберите другой статус."),
    "R10.late": _Entry(WARNING, "Мероприятие {item} выполнено с нарушением срока ({due}).", _R10_HINT),
    "R10.overdue": _Entry(WARNING, "Мероприятие {item} просрочено: срок {due}, статус «{status}».", _R10_HINT),
    "K01": _Entry(ERROR, "Сотрудника «{value}» нет на листе «Сотрудники».",
                  "Укажите сотрудника так же, как на листе «Сотрудники», или добавьте его туда."),
    "K02": _Entry(ERROR, "Лист «Сотрудники» пуст, хотя библиотека есть.",
                  "Перечислите сотрудников библиотеки (можно без ФИО: «Сотрудник 1»)."),
    "K03": _Entry(ERROR, "Объём {value} ч меньше минимума для вида «{programme}» ({minimum} ч).",
                  "Проверьте объём программы по документу; при меньшем объёме выберите подходящий вид программы."),
    "K04": _Entry(ERROR, "Дата {value} вне отчётного периода ({period}).",
                  "Указываются только события отчётного периода {period}."),
    "K05": _Entry(WARNING, "Педагог-библиотекарь без КПК за последние 3 года.",
                  "Педагогические работники проходят повышение квалификации не реже раза в три года (273-ФЗ, ст. 47)."),
    "L01": _Entry(ERROR, "Пользователей-обучающихся (P03 = {p03}) больше, чем пользователей (P02 = {p02}) "
                         "или обучающихся (P01 = {p01}).",
                  "P03 — часть P02 и не может превышать P01; проверьте значения."),
    "L02": _Entry(ERROR, "Учебники и художественная литература (P07 + P08 = {total}) больше всего фонда (P06 = {p06}).",
                  "P07 и P08 — части фонда P06; проверьте значения."),
    "L03": _Entry(ERROR, "Нарушено P15 ≤ P14 ≤ P13 (P13 = {p13}, P14 = {p14}, P15 = {p15}).",
                  "Места с ПК — часть всех мест, места с Интернетом — часть мест с ПК."),
    "L04": _Entry(ERROR, "Обеспеченность учебниками {value} вне диапазона 0–100 %.",
                  "Укажите процент от 0 до 100."),
    "L04.warning": _Entry(WARNING, "Обеспеченность учебниками {value} % — похоже на долю, а не на проценты.",
                   "Если обеспеченность 95 %, укажите 95, а не 0,95."),
    "L05": _Entry(WARNING, "Фонд не сходится с прошлогодним отчётом: {p06_last} + {p09} − {p10} = {expected}, "
                           "указано {p06}.",
                  "Проверьте P06, P09 и P10 по книге суммарного учёта."),
    "L06.visits_below_users": _Entry(WARNING, "Неправдоподобное значение: посещений (P04) меньше, чем "
                                              "пользователей (P02).", _L06_HINT),
    "L06.visits_per_user": _Entry(WARNING, "Неправдоподобное значение: посещаемость {ratio} (обычно 1–100).",
                                  _L06_HINT),
    "L06.seats_over_computers": _Entry(WARNING, "Неправдоподобное значение: мест с ПК (P14) больше, чем ПК в "
                                                "библиотеке (P16).", _L06_HINT),
    "L06.loans_per_user": _Entry(WARNING, "Неправдоподобное значение: читаемость {ratio} (обычно 0,5–60).",
                                 _L06_HINT),
    "L06.turnover": _Entry(WARNING, "Неправдоподобное значение: обращаемость фонда {ratio} (обычно 0,01–5).",
                           _L06_HINT),
    "L07.yes_not_done": _Entry(ERROR, "P22 = «да», но мероприятие 2 (раздел на сайте) не выполнено.", _L07_HINT),
    "L07.no_but_done": _Entry(ERROR, "P22 = «нет», но мероприятие 2 (раздел на сайте) отмечено выполненным.",
                              _L07_HINT),
    "L08": _Entry(WARNING, "Публикаций на сайте (P21 = {p21}) меньше, чем указано в мероприятии 4.1 ({quantity}).",
                  "Проверьте P21 и «Количество» мероприятия 4.1."),
}


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


def build(code: str, sheet: str, cell: str, value: Any = "", variant: str = "", **params: Any) -> Finding:
    """Return the finding *code* at *sheet*!*cell*, its message and hint filled from *params*."""
    entry = CATALOGUE[f"{code}.{variant}" if variant else code]
    shown = display_value(value)
    # A field may be the school's text too (a code, a tab or column name): shown, never applied.
    fields = _Blank({name: to_visible(param) if isinstance(param, str) else param for name, param in params.items()},
                    value=shown)
    return Finding(
        code=code,
        severity=entry.severity,
        sheet=to_visible(sheet),
        cell=to_visible(cell),
        value=shown,
        message=entry.message.format_map(fields),
        hint=entry.hint.format_map(fields),
    )


# Characters a person cannot see, or that reorder the text around them: a Код ОО typed as U+202E
# RIGHT-TO-LEFT OVERRIDE then «210-07» reads as «70-012», another school's code. Cc: C0 and C1
# controls; Cf: formats (bidi embeddings, overrides, isolates and marks, zero-width spaces and joiners,
# U+FEFF, the soft hyphen); Cs: lone surrogates; Cn: unassigned; Zl, Zp: the line and paragraph
# separators (a new paragraph resets the direction).
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Cn", "Zl", "Zp"})
# Tab and line feed stay: whitespace a person sees as such (a comment has lines).
_KEPT_CONTROLS = frozenset("\t\n")
# Default-ignorable characters of other categories, drawn as nothing: the Hangul fillers, the
# combining grapheme joiner, the Khmer inherent vowels, Mongolian and other variation selectors.
_IGNORABLE = re.compile("[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u3164\ufe00-\ufe0f\uffa0"
                        "\U000e0100-\U000e01ef]")
MAX_SHOWN = 200  # characters of a value shown, a written-out character counted as written


def display_value(value: Any) -> str:
    """Show a cell value to a person: dates as ДД.ММ.ГГГГ, whole floats without «.0», to_visible, long text cut."""
    if value is None:
        return ""
    if hasattr(value, "strftime"):
        return value.strftime("%d.%m.%Y")
    if isinstance(value, float):
        text = str(int(value)) if value.is_integer() else str(value).replace(".", ",")
    else:
        text = to_visible(str(value))
    if len(text) <= MAX_SHOWN:
        return text
    cut = text[:MAX_SHOWN]
    opening = cut.rfind("⟨")
    if opening != -1 and "⟩" not in cut[opening:]:
        cut = cut[:opening]  # never half a «⟨U+202E⟩»
    return cut + "…"


def to_visible(text: str) -> str:
    """Return *text* with each hidden or direction-changing character written out: «⟨U+202E⟩», never applied."""
    if text.isprintable() and not _IGNORABLE.search(text):
        return text  # the usual text; isprintable() is False for every hidden category (and for NBSP)
    return "".join(f"⟨U+{ord(char):04X}⟩" if _is_hidden(char) else char for char in text)


def _is_hidden(char: str) -> bool:
    if char in _KEPT_CONTROLS:
        return False
    return unicodedata.category(char) in _HIDDEN_CATEGORIES or _IGNORABLE.match(char) is not None


def has_errors(findings: list[Finding]) -> bool:
    return any(finding.is_error for finding in findings)


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """Errors first, then warnings; the order of the check within each."""
    return sorted(findings, key=lambda finding: not finding.is_error)
