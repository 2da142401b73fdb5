#!/usr/bin/env bash
# The interface's messages (docs/OPERATIONS.md, "The interface's languages"): every string marked
# for translation gathered into locale/<language>/LC_MESSAGES/django.po (Python and templates)
# and djangojs.po (static/js), then compiled into the .mo files Django reads, which are
# committed. Needs GNU gettext (Debian's gettext package).
#
#   ./scripts/messages.sh        every language under locale/
#   ./scripts/messages.sh th     one language, made if it is new
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-.venv/bin/python}
languages=(--all)
if [ -n "${1:-}" ]; then
  languages=(--locale "$1")
fi
# what is not the site: the tests, the benchmarks, what is built or installed
ignore=(--ignore '.venv' --ignore 'tests' --ignore 'bench' --ignore 'var' --ignore 'build'
        --ignore 'test-artifacts' --ignore 'deploy' --ignore 'docs' --ignore '*.egg-info')
export SECRET_KEY=${SECRET_KEY:-messages-only} DJANGO_SETTINGS_MODULE=config.settings
for domain in django djangojs; do
  "$python" manage.py makemessages --domain "$domain" "${languages[@]}" "${ignore[@]}" \
    --add-location file --no-obsolete
done
"$python" manage.py compilemessages "${ignore[@]}"
