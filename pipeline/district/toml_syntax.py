"""Where a district TOML file's syntax breaks and why, in Russian: «строка 26, столбец 20: … — …»."""

from __future__ import annotations

import ast
import re
import tomllib

# tomllib (Python 3.11) puts the place only in the message's tail; TOMLDecodeError has no lineno before 3.14.
_PLACE = re.compile(r"^(?P<problem>.*) \(at (?:line (?P<line>\d+), column (?P<column>\d+)|end of document)\)$",
                    re.DOTALL)
_QUOTE = "текст пишется в кавычках, например \"01.10.N\""
# tomllib's messages (Lib/tomllib/_parser.py), the common ones first; {0} is the message's one variable part.
_PROBLEMS = (
    (r"Expected newline or end of document after a statement",
     f"после значения в строке лишнее: {_QUOTE}, а комментарий начинается с «#»"),
    (r"Invalid value", f"значение не распознано: {_QUOTE}, число — без кавычек, да/нет — true/false"),
    (r"Unterminated string", "строка не закрыта кавычкой"),
    (r"Illegal character '\\n'", "строка не закрыта кавычкой до конца строки"),
    (r"Illegal character (.+)", "недопустимый символ {0}"),
    (r"Found invalid character (.+)", "недопустимый символ {0}"),
    (r"Expected '=' after a key in a key/value pair", "после ключа нужен знак «=» и значение"),
    (r"Expected '\]' at the end of a table declaration", "заголовок раздела не закрыт «]»"),
    (r"Expected '\]\]' at the end of an array declaration", "заголовок [[…]] не закрыт «]]»"),
    (r"Expected (.+)", "ожидается {0}"),
    (r"Cannot overwrite a value", "этот ключ уже задан выше в том же разделе"),
    (r"Cannot declare (.+) twice", "раздел [{0}] объявлен дважды"),
    (r"Cannot redefine namespace (.+)", "раздел [{0}] уже определён"),
    (r"Cannot mutate immutable namespace (.+)", "раздел {0} задан целиком в одной строке и не дополняется"),
    (r"Duplicate inline table key (.+)", "ключ {0} повторяется в фигурных скобках"),
    (r"Unclosed array", "список не закрыт «]»"),
    (r"Unclosed inline table", "фигурные скобки не закрыты «}»"),
    (r"Unescaped '\\\\' in a string", "обратная косая черта «\\» в кавычках: пишите «\\\\» или берите строку "
                                      "в одинарные кавычки"),
    (r"Invalid date or datetime", "неверная дата: без кавычек дата пишется ГГГГ-ММ-ДД"),
    (r"Invalid initial character for a key part", "ключ начинается с недопустимого символа"),
    (r"Invalid statement", "строка не похожа ни на «ключ = значение», ни на заголовок [раздела]"),
    (r"Invalid hex value|Escaped character is not a Unicode scalar value", "неверный код символа после «\\u»"),
)
UNKNOWN_PROBLEM = "проверьте кавычки, скобки и знак «=» в этой строке"


def describe_toml_error(error: tomllib.TOMLDecodeError) -> str:
    """«строка 26, столбец 20: ошибка синтаксиса TOML — после ключа нужен знак «=» и значение»."""
    match = _PLACE.match(str(error))
    if match is None:
        return f"ошибка синтаксиса TOML — {UNKNOWN_PROBLEM}"
    if match["line"]:
        place = f"строка {match['line']}, столбец {match['column']}"
    else:
        place = "конец файла"
    return f"{place}: ошибка синтаксиса TOML — {_problem(match['problem'])}"


def _problem(text: str) -> str:
    for pattern, words in _PROBLEMS:
        found = re.fullmatch(pattern, text, re.DOTALL)
        if found:
            return words.format(*(_shown(part) for part in found.groups()))
    return UNKNOWN_PROBLEM


def _shown(part: str) -> str:
    """A repr'd character or key tuple of tomllib's message as written: «'x'» → «x», «('a', 'b')» → «a.b»."""
    try:
        value = ast.literal_eval(part)
    except (ValueError, SyntaxError):
        return f"«{part}»"
    if isinstance(value, tuple):
        return ".".join(str(key) for key in value)
    return f"«{value}»" if str(value).isprintable() else f"«{part.strip(chr(39))}»"
