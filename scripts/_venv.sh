# Sourced by the scripts: make .venv (once) and install the project with what the task needs.
# Usage: VENV_EXTRA=dev . scripts/_venv.sh   (a sourced file sees its caller's arguments, so the
# extra comes in a variable, not as $1)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
extra="${VENV_EXTRA:-}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
stamp="$venv/.installed-${extra:-base}"
if [ ! -f "$stamp" ] || [ "$root/pyproject.toml" -nt "$stamp" ]; then
  "$venv/bin/python" -m pip install --quiet --upgrade pip
  if [ -n "$extra" ]; then
    "$venv/bin/python" -m pip install --quiet -e "$root[$extra]"
  else
    "$venv/bin/python" -m pip install --quiet -e "$root"
  fi
  touch "$stamp"
fi
export PATH="$venv/bin:$PATH"
cd "$root"
