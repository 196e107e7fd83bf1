#!/usr/bin/env bash
# Set up the project on a fresh Debian/Ubuntu machine: system libraries, a virtualenv, the package.
# Idempotent: a second run only checks. Used by scripts/demo.sh, and with --tests by scripts/test.sh (.ci/run).
#   bash scripts/setup.sh           # what the product needs
#   bash scripts/setup.sh --tests   # plus what the tests need (PostgreSQL and dovecot servers the tests start themselves)
set -euo pipefail
cd "$(dirname "$0")/.."

FOR_TESTS=false
for argument in "$@"; do
    case "$argument" in
        --tests) FOR_TESTS=true ;;
        *) echo "Неизвестный параметр: $argument (допустимо: --tests)" >&2; exit 2 ;;
    esac
done

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "Нужен Python 3.11 или новее (найден: $("$PYTHON" --version 2>&1))." >&2
    exit 2
fi

# WeasyPrint needs Pango (and HarfBuzz subsetting for small fonts); reports need a font with Cyrillic; tests read PDFs with pdftotext.
SYSTEM_PACKAGES="libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core poppler-utils"
# The PostgreSQL tests run Debian's initdb/pg_ctl in a temporary folder (tests/postgres_server.py);
# the mail tests run Debian's dovecot as a private IMAP server on a free port (tests/mail_servers.py).
# The demo needs neither server.
TEST_PACKAGES="postgresql dovecot-imapd"
if [ "$FOR_TESTS" = true ]; then
    SYSTEM_PACKAGES="$SYSTEM_PACKAGES $TEST_PACKAGES"
fi
missing=""
for package in $SYSTEM_PACKAGES; do
    dpkg -s "$package" >/dev/null 2>&1 || missing="$missing $package"
done
# Another apt (unattended upgrades, a second setup) may hold the dpkg lock: wait for it, up to ten minutes.
APT_LOCK_WAIT="-o DPkg::Lock::Timeout=600"
DPKG_LOCK=/var/lib/dpkg/lock-frontend
if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        if command -v fuser >/dev/null && fuser "$DPKG_LOCK" >/dev/null 2>&1; then
            echo "Жду, пока другой процесс apt освободит блокировку dpkg…"
        fi
        echo "Устанавливаю системные пакеты:$missing"
        { apt-get $APT_LOCK_WAIT update -qq \
          && DEBIAN_FRONTEND=noninteractive apt-get $APT_LOCK_WAIT install -y -qq $missing; } \
            >.setup-apt.log 2>&1 || { cat .setup-apt.log >&2; exit 2; }
        # The package starts a system dovecot on ports 143/993; the tests start their own on a free port
        # and nothing should answer mail on this machine because the tests needed a binary.
        case " $missing " in
            *" dovecot-imapd "*)
                if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
                    systemctl disable --now dovecot.service dovecot.socket >>.setup-apt.log 2>&1 || true
                elif [ -x /etc/init.d/dovecot ]; then
                    invoke-rc.d dovecot stop >>.setup-apt.log 2>&1 || true
                    update-rc.d dovecot disable >>.setup-apt.log 2>&1 || true
                fi ;;
        esac
    else
        echo "Не хватает системных пакетов:$missing" >&2
        echo "Установите их: sudo apt-get install$missing" >&2
        exit 2
    fi
fi

if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
if [ ! -f .venv/.installed ] || [ pyproject.toml -nt .venv/.installed ]; then
    echo "Устанавливаю зависимости в .venv (несколько минут при первом запуске)…"
    # pip is chatty on stderr even with -q; keep its output in a log and show it only on failure.
    if ! { .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip \
           && .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[dev]"; } >.setup-pip.log 2>&1; then
        cat .setup-pip.log >&2
        echo "Не удалось установить зависимости (журнал: .setup-pip.log)." >&2
        exit 2
    fi
    touch .venv/.installed
fi
# The README's commands say `eibm …`: they work in a terminal where the environment is activated.
echo "Готово. Чтобы набирать команды как в README (eibm …), выполните в терминале: . .venv/bin/activate"
echo "(или пишите полный путь: .venv/bin/eibm …)."
