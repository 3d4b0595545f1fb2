#!/usr/bin/env bash
# Template checks (make check-template): cfn-lint, `sam validate --lint`, and an offline `sam build` whose output is
# then checked for every function and a usable layer. Works without Docker and without AWS credentials.
#
# The tools live in their own venv (.tools-venv, pins in requirements-tools.txt) because aws-sam-cli pins boto3 and
# pydantic; it is (re)created when requirements-tools.txt changes. `sam build` needs python3.12 first on PATH.
#
# `--tools-venv-only`: make sure the venv is there and stop.
# Environment: TOOLS_VENV, PYTHON312 (a python3.12 interpreter), APP_PYTHON (the app venv's python),
# SAM_BUILD_DIR (default .aws-sam/build).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

TOOLS_VENV="${TOOLS_VENV:-$ROOT/.tools-venv}"
TOOLS_REQUIREMENTS="$ROOT/requirements-tools.txt"
APP_PYTHON="${APP_PYTHON:-$ROOT/.venv/bin/python}"
SAM_BUILD_DIR="${SAM_BUILD_DIR:-$ROOT/.aws-sam/build}"
REGION=us-east-1

export SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION="$REGION"

find_python312() {
  if [[ -n "${PYTHON312:-}" ]]; then echo "$PYTHON312"; return; fi
  local pyenv_root="${PYENV_ROOT:-$HOME/.pyenv}"
  local candidate pinned
  pinned="$(cat .python-version 2>/dev/null || true)"
  for candidate in "$pyenv_root/versions/$pinned/bin/python3.12" "$pyenv_root"/versions/3.12.*/bin/python3.12; do
    [[ -x "$candidate" ]] && { echo "$candidate"; return; }
  done
  command -v python3.12 || { echo "python3.12 not found (set PYTHON312)" >&2; exit 2; }
}

ensure_tools_venv() {
  local stamp="$TOOLS_VENV/.requirements.sha256" wanted
  wanted="$(sha256sum "$TOOLS_REQUIREMENTS" | cut -d' ' -f1)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; then return; fi
  echo "== creating $TOOLS_VENV (first run: a few minutes)"
  rm -rf "$TOOLS_VENV"
  "$PYTHON312" -m venv "$TOOLS_VENV"
  "$TOOLS_VENV/bin/pip" install --quiet --disable-pip-version-check --requirement "$TOOLS_REQUIREMENTS"
  echo "$wanted" > "$stamp"
}

PYTHON312="$(find_python312)"
# python3.12 first on PATH: sam build's Python workflow and the layer Makefile look it up by name.
export PATH="$(dirname "$PYTHON312"):$TOOLS_VENV/bin:$PATH"
ensure_tools_venv
# `make tools-venv` (before pytest: tests/contract/test_sam_parity.py runs samtranslator from it) stops here.
[[ "${1:-}" == "--tools-venv-only" ]] && exit 0

LOG_DIR="$(dirname "$SAM_BUILD_DIR")/logs"
mkdir -p "$LOG_DIR"

# A job's output goes to its log; its exit code and duration to the last line.
job() {
  local name=$1 started=$SECONDS status=0
  shift
  "$@" >"$LOG_DIR/$name.log" 2>&1 || status=$?
  echo "exit=$status seconds=$((SECONDS - started))" >>"$LOG_DIR/$name.log"
  return "$status"
}

sam_build() {
  rm -rf "$SAM_BUILD_DIR"
  sam build --template-file template.yaml --build-dir "$SAM_BUILD_DIR" --base-dir "$ROOT" --region "$REGION" \
    --parallel --cached --cache-dir "$(dirname "$SAM_BUILD_DIR")/cache" &&
    "$APP_PYTHON" -m infra.build.check_build "$SAM_BUILD_DIR"
}

# The three checks are independent: run them side by side.
declare -A PIDS
job cfn-lint cfn-lint template.yaml & PIDS[cfn-lint]=$!
job sam-validate sam validate --lint --region "$REGION" --template-file template.yaml & PIDS[sam-validate]=$!
job sam-build sam_build & PIDS[sam-build]=$!

failed=0
for name in cfn-lint sam-validate sam-build; do
  status=0
  wait "${PIDS[$name]}" || status=$?
  summary="$(tail -n 1 "$LOG_DIR/$name.log")"
  if (( status == 0 )); then
    echo "== $name: ok (${summary##*seconds=}s)"
    [[ $name == sam-build ]] && grep '^build check:' "$LOG_DIR/$name.log"
  else
    failed=1
    echo "== $name: FAILED ($summary); its output:"
    grep -v '^WARNING: Location' "$LOG_DIR/$name.log" | sed 's/^/   /'
  fi
done
echo "== template checks done in ${SECONDS}s"
exit "$failed"
