"""The system's refusals (no access, no such folder, disk full) said in Russian with the path and what to do."""

from __future__ import annotations

import errno
from pathlib import Path

# The system's own words («No such file or directory») are English; each common case gets the
# analyst's words and a next step. {path} is the file or folder the system refused.
_WORDS = {
    errno.EACCES: "Нет доступа к {path}: проверьте права на эту папку или файл",
    errno.EPERM: "Нет доступа к {path}: система запрещает запись сюда — проверьте права или выберите другую папку",
    errno.EROFS: "{path} — на диске только для чтения: выберите другую папку",
    errno.ENOSPC: "На диске нет места для {path}: освободите место и повторите команду",
    errno.EDQUOT: "Превышена дисковая квота для {path}: освободите место и повторите команду",
    errno.ENOENT: "Нет такой папки или файла: {path} — проверьте путь",
    errno.ENOTDIR: "В пути {path} вместо папки стоит файл: проверьте путь",
    errno.EEXIST: "На месте папки {path} стоит файл: уберите его или выберите другую папку",
    errno.EISDIR: "На месте файла {path} стоит папка: уберите её или выберите другое имя",
    errno.ENAMETOOLONG: "Слишком длинное имя: {path} — выберите путь короче",
}
OUTPUTS_HINT = " (папка результатов задаётся параметром --outputs)"
INPUTS_HINT = " (папка входных данных задаётся параметром --inputs)"


def describe_os_error(error: OSError, inputs: Path | None = None, outputs: Path | None = None) -> str:
    """*error* in Russian: what the system refused, naming the path, and what to do about it.

    A path inside *outputs* or *inputs* adds which option chooses that folder.
    """
    path = error.filename if error.filename is not None else "(путь не известен)"
    code = error.errno or 0
    template = _WORDS.get(code, "Ошибка файловой системы {code} при работе с {path}: проверьте путь и права")
    message = template.format(path=path, code=errno.errorcode.get(code, code))
    return message + _folder_hint(Path(str(path)), inputs, outputs)


def _folder_hint(path: Path, inputs: Path | None, outputs: Path | None) -> str:
    if outputs is not None and _is_within(path, outputs):
        return OUTPUTS_HINT
    if inputs is not None and _is_within(path, inputs):
        return INPUTS_HINT
    return ""


def _is_within(path: Path, folder: Path) -> bool:
    resolved, root = path.resolve(), folder.resolve()
    return resolved == root or root in resolved.parents
