"""The words of every message we send, in Russian for a school librarian: subjects and plain-text bodies."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pipeline.collect.feedback import count_summary
from pipeline.findings import Finding, sort_findings, to_visible
from pipeline.statuses import SubmissionStatus
from pipeline.typography import count, ru_datetime, ru_short_date

# A file with hundreds of findings makes an unreadable letter: the page attached lists every one.
MAX_FINDINGS_IN_LETTER = 30
FINDING_FORMS = ("замечание", "замечания", "замечаний")
GREETING = "Здравствуйте!"
# The name in «From»: short, so that no mail reader splits it (a long one is folded into several encoded words).
SENDER_NAME = "Сбор отчётов ИБЦ"
SIGNATURE = ("Это письмо отправлено автоматически системой сбора отчётов ИБЦ. "
             "С вопросами обращайтесь в управление образования: {office}.")


@dataclass(frozen=True)
class Letterhead:
    """Who writes and where the school answers: the district's own words, from district.toml and [mail]."""

    office: str  # «Управление образования Администрации …», or the district's name
    reply_to: str
    year: int
    deadline: dt.date


@dataclass(frozen=True)
class Judgement:
    """What a reply says about one judged file."""

    school_name: str
    school_code: str
    files: tuple[str, ...]  # as received, relative to the drop folder
    arrived_at: dt.datetime
    status: SubmissionStatus
    findings: list[Finding]
    explanation: str  # the feedback page's own words for the status (collect/feedback.status_explanation)
    attachments: tuple[str, ...]  # names of the files attached, in order: the page, then the annotated copy
    held_sender: str | None = None  # the address a held report came from


def subject_prefix(year: int) -> str:
    return f"Отчёт ИБЦ {year}"


def reply_subject(year: int, status: SubmissionStatus, errors: int, warnings: int, held: bool = False) -> str:
    """«Отчёт ИБЦ 2026: принят», «…: принят с замечаниями (предупреждений: 2)», «…: отклонён, ошибок: 3»."""
    if held:
        return f"{subject_prefix(year)}: прислан не с адреса школы, на проверке"
    if status == SubmissionStatus.ACCEPTED:
        verdict = f"принят с замечаниями (предупреждений: {warnings})" if warnings else "принят"
    elif status == SubmissionStatus.REJECTED:
        verdict = f"отклонён, ошибок: {errors}"
    elif status == SubmissionStatus.SUPERSEDED:
        verdict = "файл заменён более поздним"
    elif status == SubmissionStatus.DUPLICATE:
        verdict = "этот файл уже получен"
    else:
        verdict = "файл не распознан как отчёт"
    return f"{subject_prefix(year)}: {verdict}"


def shown_name(text: str) -> str:
    """A name the school or a sender chose, for one line of a letter: hidden characters and line breaks shown."""
    return to_visible(text).replace("\n", "⟨U+000A⟩").replace("\t", "⟨U+0009⟩")


def reply_body(head: Letterhead, judgement: Judgement) -> str:
    """The letter about one judged file: the result, the findings (errors first), what to do, the deadline."""
    ordered = sort_findings(judgement.findings)
    errors = [finding for finding in ordered if finding.is_error]
    warnings = [finding for finding in ordered if not finding.is_error]
    lines = [GREETING, ""]
    if judgement.held_sender is not None:
        lines += [
            f"Отчёт от имени вашей школы пришёл не с её адреса из реестра района, а с адреса "
            f"{shown_name(judgement.held_sender)}. Он проверен как обычно, а специалист управления образования "
            "проверит, кто его прислал. Если вы не отправляли этот отчёт и никого об этом не просили, "
            "сообщите в управление образования.", ""]
    names = ", ".join(shown_name(path.rpartition("/")[2]) for path in judgement.files)
    lines += [
        f"Школа: {judgement.school_name} (код ОО {judgement.school_code})",
        f"Файл: {names}",
        f"Получен: {ru_datetime(judgement.arrived_at)}",
        f"Результат проверки: {judgement.status.label} ({_summary(len(errors), len(warnings))})",
        "",
        judgement.explanation,
    ]
    shown = 0
    for title, group in (("Ошибки (из-за них отчёт отклонён, исправьте каждую):", errors),
                         ("Предупреждения (отчёт из-за них не отклоняется; проверьте эти значения):", warnings)):
        if not group:
            continue
        lines += ["", title]
        for number, finding in enumerate(group, start=1):
            if shown == MAX_FINDINGS_IN_LETTER:
                break
            lines += _finding_lines(number, finding)
            shown += 1
    if shown < len(ordered):
        lines += ["", f"…и ещё {count(len(ordered) - shown, *FINDING_FORMS)}: все они — на странице во вложении."]
    if judgement.attachments:
        attached = [f"— {judgement.attachments[0]}: результаты проверки, откройте в браузере"]
        if len(judgement.attachments) > 1:
            attached.append(f"— {judgement.attachments[1]}: ваш файл, ячейки с ошибками выделены цветом, "
                            "у каждой — примечание с подсказкой")
        lines += ["", "Во вложении:", *(line + ";" for line in attached[:-1]), attached[-1] + "."]
    if judgement.status in (SubmissionStatus.REJECTED, SubmissionStatus.UNRECOGNIZED):
        lines += ["", _how_to_send(head)]
    lines += ["", f"Срок сдачи отчёта: {ru_short_date(head.deadline)}.", "", SIGNATURE.format(office=head.office)]
    return "\n".join(lines) + "\n"


def _finding_lines(number: int, finding: Finding) -> list[str]:
    where = f"лист «{finding.sheet}», ячейка {finding.cell}" if finding.cell else f"лист «{finding.sheet}»"
    lines = [f"{number}. {_upper_first(where)}: {finding.message} ({finding.code})"]
    if finding.value:
        lines.append(f"   Значение в файле: «{shown_name(finding.value)}»")
    lines.append(f"   Как исправить: {finding.hint}")
    return lines


def _how_to_send(head: Letterhead, corrected: bool = True) -> str:
    report = "Исправленный отчёт" if corrected else "Отчёт"
    return (f"{report} пришлите ответом на это письмо или на адрес {head.reply_to}: заполненную книгу "
            "Excel (.xlsx) вложением. Каждый присланный файл проверяется, ответ приходит на адрес школы из реестра.")


def no_attachment_letter(head: Letterhead) -> tuple[str, str]:
    """What a message with no usable attachment gets: what to send."""
    subject = f"{subject_prefix(head.year)}: в письме нет файла отчёта"
    body = "\n".join([
        GREETING, "",
        "В вашем письме на адрес сбора отчётов ИБЦ не найдено файла отчёта.",
        "", _how_to_send(head, corrected=False),
        "Подойдут книга Excel (.xlsx, .xlsm, .xls), LibreOffice (.ods) или CSV-файлы листов отчёта; "
        "ссылки на облачные диски и архивы (.zip, .rar) не принимаются.",
        "", f"Срок сдачи отчёта: {ru_short_date(head.deadline)}.", "", SIGNATURE.format(office=head.office),
    ])
    return subject, body + "\n"


def refusal_letter(head: Letterhead, reason: str | None) -> tuple[str, str]:
    """What a message whose attachment was refused gets: why, and what to send instead."""
    subject = f"{subject_prefix(head.year)}: файл не принят"
    why = f" Причина: {shown_name(reason)}." if reason else ""
    body = "\n".join([
        GREETING, "",
        f"Файл из вашего письма на адрес сбора отчётов ИБЦ не принят и не проверялся.{why}",
        "", _how_to_send(head), "Пришлите отчёт без архива, удалив из книги лишние листы, рисунки и пустые строки.",
        "", f"Срок сдачи отчёта: {ru_short_date(head.deadline)}.", "", SIGNATURE.format(office=head.office),
    ])
    return subject, body + "\n"


def reminder_letter(head: Letterhead, school_name: str, school_code: str, today: dt.date, rejected: bool,
                    template_name: str) -> tuple[str, str]:
    """A reminder to a school without an accepted report, before or after the deadline."""
    deadline = ru_short_date(head.deadline)
    days = (head.deadline - today).days
    if days >= 0:
        subject = f"{subject_prefix(head.year)}: напоминание, срок сдачи {deadline}"
        when = "сегодня" if days == 0 else f"через {count(days, 'день', 'дня', 'дней')}"
        opening = f"Напоминаем: срок сдачи отчёта ИБЦ за {head.year} год — {deadline} ({when})."
    else:
        subject = f"{subject_prefix(head.year)}: отчёт не получен, срок сдачи {deadline} прошёл"
        opening = (f"Срок сдачи отчёта ИБЦ за {head.year} год ({deadline}) прошёл, а принятого отчёта вашей школы "
                   "пока нет. Пришлите его как можно скорее: отчёт будет принят с опозданием.")
    state = ("Присланный ранее отчёт был отклонён: исправьте ошибки из нашего ответа на него и пришлите файл заново."
             if rejected else "Отчёт вашей школы пока не получен.")
    body = "\n".join([
        GREETING, "",
        f"Школа: {school_name} (код ОО {school_code})", "",
        opening, state, "",
        f"Во вложении — шаблон отчёта вашей школы ({template_name}): код ОО и год уже заполнены, "
        "не меняйте их и не переименовывайте листы.",
        "", _how_to_send(head, corrected=rejected), "", SIGNATURE.format(office=head.office),
    ])
    return subject, body + "\n"


def _summary(errors: int, warnings: int) -> str:
    """«2 ошибки, 1 предупреждение» or «замечаний нет», to follow the status in brackets."""
    text = count_summary(errors, warnings).rstrip(".")
    return text[:1].lower() + text[1:]


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]

