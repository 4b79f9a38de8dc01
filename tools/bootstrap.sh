#!/usr/bin/env bash
# Prepare everything padl needs, idempotently: Debian packages, .venv, pinned Python
# packages and the editable padl_lib (with its native kernels).
# Usage: tools/bootstrap.sh [APT_LIST ...]   (default: binder/apt.txt)
set -euo pipefail
cd "$(dirname "$0")/.."

lists=("$@")
[ ${#lists[@]} -gt 0 ] || lists=(binder/apt.txt)

missing=()
for list in "${lists[@]}"; do
  while read -r pkg; do
    [[ -z "$pkg" || "$pkg" == \#* ]] && continue
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done < "$list"
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "padl: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "padl: these Debian packages are missing. Run once, then repeat the make command:"
    echo "  sudo apt-get install -y --no-install-recommends ${missing[*]}"
    exit 1
  fi
fi

python=${PYTHON:-python3.11}
command -v "$python" >/dev/null || python=python3
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
