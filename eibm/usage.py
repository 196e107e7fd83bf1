"""argparse in Russian: its own words (usage, option groups, usage errors) through a gettext-style table."""

from __future__ import annotations

import argparse
import contextlib
import difflib
import sys
from collections.abc import Iterator, Sequence
from typing import Any, NoReturn

EXIT_USAGE = 2

# argparse's messages (CPython 3.11 Lib/argparse.py), each looked up through `_` or `ngettext`.
# A template keeps argparse's %-keys; %r becomes «%s» so a value is quoted the Russian way.
RUSSIAN = {
    "usage: ": "Использование: ",
    "positional arguments": "аргументы",
    "options": "параметры",
    "show this help message and exit": "показать эту справку и выйти",
    "subcommands": "команды",
    "argument %(argument_name)s: %(message)s": "%(argument_name)s: %(message)s",
    "the following arguments are required: %s": "не указаны обязательные параметры: %s",
    "one of the arguments %s is required": "нужен один из параметров: %s",
    "unrecognized arguments: %s": "неизвестные параметры: %s",
    "invalid choice: %(value)r (choose from %(choices)s)": "«%(value)s» — нет такого варианта; возможны: %(choices)s",
    "invalid %(type)s value: %(value)r": "«%(value)s» — недопустимое значение",
    "expected one argument": "после параметра нужно значение",
    "expected at most one argument": "нужно не больше одного значения",
    "expected at least one argument": "нужно хотя бы одно значение",
    "expected %s argument": "нужно значений: %s",
    "expected %s arguments": "нужно значений: %s",
    "ambiguous option: %(option)s could match %(matches)s": "неоднозначный параметр %(option)s: подходят %(matches)s",
    "not allowed with argument %s": "нельзя вместе с %s",
    "ignored explicit argument %r": "лишнее значение «%s»",
    "unexpected option string: %s": "неожиданный параметр: %s",
    "unknown parser %(parser_name)r (choices: %(choices)s)": "нет команды «%(parser_name)s»; возможны: %(choices)s",
    "can't open '%(filename)s': %(error)s": "не удалось открыть «%(filename)s»: %(error)s",
    "%(prog)s: error: %(message)s\n": "%(prog)s: ошибка: %(message)s\n",
}
UNKNOWN_OPTION = "неизвестный параметр {option}"
SUGGESTION = " (может быть, {option}?)"


def translate(message: str) -> str:
    """gettext's ``gettext`` for argparse: the Russian of *message*, or *message* when it has none."""
    return RUSSIAN.get(message, message)


def translate_plural(singular: str, plural: str, n: int) -> str:
    """gettext's ``ngettext`` for argparse; Russian wording here needs no plural forms."""
    return translate(singular if n == 1 else plural)


@contextlib.contextmanager
def russian_argparse() -> Iterator[None]:
    """Within the block argparse speaks Russian (it looks its words up through module-level `_`/`ngettext`)."""
    saved = argparse._, argparse.ngettext  # type: ignore[attr-defined]
    argparse._, argparse.ngettext = translate, translate_plural  # type: ignore[attr-defined]
    try:
        yield
    finally:
        argparse._, argparse.ngettext = saved  # type: ignore[attr-defined]


class CommandsFormatter(argparse.HelpFormatter):
    """Help whose command list keeps each summary on its command's line: argparse measures the commands
    without their extra indent, so «templates» had its summary pushed to the next line."""

    def add_argument(self, action: argparse.Action) -> None:
        super().add_argument(action)
        for subaction in self._iter_indented_subactions(action):
            width = len(self._format_action_invocation(subaction)) + self._current_indent
            self._action_max_length = max(self._action_max_length, width)


class RussianParser(argparse.ArgumentParser):
    """An ArgumentParser whose help and usage errors are Russian; a usage error exits with code 2 and
    names an unknown option even when a required one is missing too (`report --yaer 2026`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        with russian_argparse():  # the group titles and -h's help are chosen here
            super().__init__(*args, **kwargs)
        self._given: list[str] = []

    def parse_known_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> Any:
        self._given = list(sys.argv[1:] if args is None else args)
        with russian_argparse():
            return super().parse_known_args(args, namespace)

    def parse_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> Any:
        with russian_argparse():  # «unrecognized arguments» is worded here, after parse_known_args
            return super().parse_args(args, namespace)

    def format_usage(self) -> str:
        with russian_argparse():
            return super().format_usage()

    def format_help(self) -> str:
        with russian_argparse():
            return super().format_help()

    def error(self, message: str) -> NoReturn:
        if message.startswith(RUSSIAN["the following arguments are required: %s"].removesuffix("%s")):
            message = "; ".join([*self.unknown_options(), message])
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"Ошибка в команде: {message}\nСправка: {self.prog} --help\n")

    def unknown_options(self) -> list[str]:
        """«неизвестный параметр --yaer (может быть, --year?)» for each option given that this parser lacks."""
        known = list(self._option_string_actions)
        unknown = []
        for argument in self._given:
            option = argument.split("=", 1)[0]
            if not option.startswith("--") or any(name.startswith(option) for name in known):
                continue
            line = UNKNOWN_OPTION.format(option=option)
            close = difflib.get_close_matches(option, known, n=1)
            unknown.append(line + (SUGGESTION.format(option=close[0]) if close else ""))
        return unknown
