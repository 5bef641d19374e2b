#!/usr/bin/env bash
# The screenshots in docs/web.md, made by the test run: runs the accessibility walk
# (tests/integration/test_accessibility.py, every page as a person who may see it, in real
# Chromium against a real `custody serve`) with CUSTODY_SCREENSHOTS=1, which saves each page
# at 1280 px into docs/screenshots/<page>.png (names from the routes; ids, times and the
# run's made-up values written over with fixed stand-ins, so a file changes only when its
# page does). Stale files (of a page that no longer exists) are removed first.
#
#   scripts/screenshots.sh        then review `git status docs/screenshots` and commit them
#
# Needs the venv (`scripts/test.sh --fast` makes it) and Debian's chromium.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"
if [[ ! -x .venv/bin/python ]]; then
  echo "no .venv: run scripts/test.sh --fast first" >&2
  exit 1
fi
rm -f docs/screenshots/*.png
CUSTODY_SCREENSHOTS=1 .venv/bin/python -m pytest tests/integration/test_accessibility.py -q "$@"
ls -l docs/screenshots
