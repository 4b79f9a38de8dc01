#!/usr/bin/env bash
# Prepare everything padl needs, idempotently: Debian packages, .venv, pinned Python
# packages and the editable padl_lib (with its native kernels).
# Usage: tools/bootstrap.sh [APT_LIST ...]   (default: binder/apt.txt)
set -euo pipefail
cd "$(dirname "$0")/.."

lists=("$@")
[ ${#lists[@]} -gt 0 ] || lists=(binder/apt.txt)
tools/apt-install.sh "${lists[@]}"

python=${PYTHON:-python3.11}
command -v "$python" >/dev/null || python=python3
# Debian's own Python ships venv and the C headers (for padl's native kernels) separately.
python_extras=$(mktemp)
trap 'rm -f "$python_extras"' EXIT
"$python" -c "import ensurepip, venv" 2>/dev/null || echo python3-venv >> "$python_extras"
"$python" -c "import os, sys, sysconfig; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()['include'], 'Python.h')))" \
  || echo python3-dev >> "$python_extras"
tools/apt-install.sh "$python_extras"
if [ ! -x .venv/bin/python ]; then
  echo "padl: creating .venv with $($python --version)"
  "$python" -m venv .venv
fi

lock_sum=$(sha256sum requirements.lock | cut -d' ' -f1)
if [ "$(cat .venv/.padl-lock 2>/dev/null)" != "$lock_sum" ]; then
  echo "padl: installing the pinned Python packages (first run: a few minutes)"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -r requirements.lock
  echo "$lock_sum" > .venv/.padl-lock
fi

echo "padl: building padl_lib (editable, native kernels included)"
.venv/bin/python -m pip install -q --no-deps --no-build-isolation -e .
# JupyterLab (`make lab`) streams media files to the apps through padl's server extension
.venv/bin/python -m padl_lib.media_server >/dev/null
