#!/usr/bin/env bash
# Set up gradviz: system packages, a venv at .venv, torch (pinned), gradviz (and its test extra).
# Usage: bash scripts/setup.sh [--app|--test]   (default --test)
#   --app   Graphviz `dot` is required; bubblewrap (the sandbox user code runs in) is
#           installed when possible (without it the app runs code only on localhost)
#   --test  also Chromium (browser tests); fonts-noto-cjk is nice-to-have in both modes
# Idempotent: pip is skipped when pyproject.toml, constraints.txt and this script are unchanged.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

mode=test
case "${1:-}" in
  --app) mode=app ;;
  --test | "") mode=test ;;
  *) echo "usage: bash scripts/setup.sh [--app|--test]" >&2; exit 2 ;;
esac

say() { echo "setup: $*" >&2; }
die() { echo "setup: ERROR: $*" >&2; exit 1; }

# --- 1. system packages --------------------------------------------------------------
need=() nice=()
command -v dot >/dev/null 2>&1 || need+=(graphviz)
if [[ $mode == test ]]; then
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
  command -v bwrap >/dev/null 2>&1 || need+=(bubblewrap)  # the sandbox tests need it
else
  command -v bwrap >/dev/null 2>&1 || nice+=(bubblewrap)
fi
fc-list :lang=ko 2>/dev/null | grep -q . || nice+=(fonts-noto-cjk)

if (( ${#need[@]} + ${#nice[@]} )); then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    all=("${need[@]}" "${nice[@]}")
    say "installing system packages: ${all[*]}"
    apt-get update -qq >/dev/null || say "warning: apt-get update failed"
    if (( ${#need[@]} )); then
      apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null \
        || die "apt-get install ${need[*]} failed (see above)."
    fi
    if (( ${#nice[@]} )); then
      apt-get install -y -qq --no-install-recommends "${nice[@]}" >/dev/null \
        || say "warning: could not install ${nice[*]} (fonts-noto-cjk: Korean text may render as boxes; bubblewrap: user code runs without a sandbox)."
    fi
  elif (( ${#need[@]} )); then
    all=("${need[@]}" "${nice[@]}")
    die "gradviz needs system packages that are missing here: ${need[*]}${nice[*]:+ (and, for Korean text, ${nice[*]})}. \
This script installs them itself only when run as root on a system with apt-get. \
Please install them yourself, e.g. on Debian/Ubuntu: sudo apt-get install ${all[*]} \
(elsewhere: Graphviz's \`dot\` and a \`chromium\` browser on PATH), then run this command again."
  else
    say "warning: ${nice[*]} is not installed; Korean text may render as boxes (sudo apt-get install ${nice[*]})."
  fi
fi

# --- 2. virtual environment -------------------------------------------------------------
py_ok='import sys; sys.exit(sys.version_info < (3, 10))'
if [[ -e .venv/bin/python ]]; then
  .venv/bin/python -c "$py_ok" >/dev/null 2>&1 \
    || die ".venv exists but its python does not run or is older than 3.10; remove it (rm -rf .venv) and run this command again."
else
  PYTHON=${PYTHON:-python3}
  command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found: gradviz needs Python >= 3.10 (set PYTHON=/path/to/python3)."
  "$PYTHON" -c "$py_ok" || die "gradviz needs Python >= 3.10, but $PYTHON is $("$PYTHON" -V 2>&1) (set PYTHON=/path/to/python3.10+)."
  say "creating .venv with $("$PYTHON" -V 2>&1)"
  "$PYTHON" -m venv --clear .venv || die "could not create .venv (on Debian/Ubuntu: apt-get install python3-venv)."
fi

# --- 3. Python packages (skipped when nothing changed) -------------------------------------
# The app needs gradviz itself; the tests also need the `test` extra. A stamp records what
# was installed from which pyproject.toml / constraints.txt / setup.sh.
stamp=.venv/.gradviz-setup-stamp
hash=$(cat pyproject.toml constraints.txt scripts/setup.sh | sha256sum | cut -d' ' -f1)
have=$(cat "$stamp" 2>/dev/null || true)
if [[ $have == "$hash test" || ($mode == app && $have == "$hash app") ]]; then
  say "Python packages up to date"
else
  pip=(.venv/bin/python -m pip install -q -c constraints.txt)
  say "installing torch 2.13.0 (CPU)"
  "${pip[@]}" torch==2.13.0
  # an older checkout installed the distribution under the name "gradviz"
  .venv/bin/python -m pip uninstall -q -y gradviz >/dev/null 2>&1 || true
  if [[ $mode == test ]]; then
    say "installing gradviz with its test extra (editable)"
    "${pip[@]}" -e '.[test,lessons]'
  else
    say "installing gradviz with the lessons' extras (editable)"
    "${pip[@]}" -e '.[lessons]'
  fi
  echo "$hash $mode" >"$stamp"
fi
# The sandboxed runs (the app's, `gradviz render`'s) see gradviz read-only and cannot write its
# bytecode cache, and PYTHONDONTWRITEBYTECODE stops Python writing it anywhere: compiled once here
# (a second or two the first time; up-to-date files are skipped), else every run compiles ~60 modules.
.venv/bin/python -m compileall -q -j 0 gradviz >/dev/null || true
say "ready ($mode)"
