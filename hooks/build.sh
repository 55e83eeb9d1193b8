#!/usr/bin/env bash
# The ASK CLI's custom build flow: `ask deploy` runs {project root}/hooks/build.sh <OUT_FILE> <DO_DEBUG>
# from inside its copy of the code folder (.ask/lambda/) and uploads OUT_FILE (.ask/lambda/build.zip)
# to S3 for the CloudFormation stack. It builds the same artifact as `make lambda-zip`, with the same
# script: Lambda wheels from lambda/requirements.txt, the skill package without its web stack.
set -euo pipefail

readonly OUT_FILE=${1:?usage: hooks/build.sh <OUT_FILE> [DO_DEBUG]}
readonly DO_DEBUG=${2:-false}
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
readonly ROOT

# The project's venv when there is one; otherwise the first python3 on PATH. Either needs only the
# standard library and pip: the zip's bytecode is compiled by a Python of the runtime's version (3.13)
# that the build finds (BEDTIME_TARGET_PYTHON, python3.13 on PATH, pyenv), else it ships source only.
PYTHON=${BEDTIME_BUILD_PYTHON:-}
if [[ -z $PYTHON ]]; then
  if [[ -x $ROOT/.venv/bin/python ]]; then PYTHON=$ROOT/.venv/bin/python; else PYTHON=python3; fi
fi
readonly PYTHON

# Certification needs a real privacy policy; the manifest ships with a placeholder until it is set.
if grep -q '"privacyPolicyUrl": "https://example.com/' "$ROOT/interaction_model/skill.json"; then
  echo "[Warn] skill.json still has the placeholder privacy policy URL: make privacy-url URL=https://..." >&2
fi
if [[ $DO_DEBUG == true ]]; then echo "[Debug] building $OUT_FILE with $PYTHON from $ROOT" >&2; fi
exec "$PYTHON" "$ROOT/scripts/build_lambda_zip.py" "$OUT_FILE"
