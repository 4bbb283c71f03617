#!/usr/bin/env bash
# Run scripts/tools/gpu_check.py on a lent GPU machine (Python 3.12 with jax and torch, no network):
# first install the wheels that scripts/tools/fetch_gpu_wheels.sh put in .whl/ (carry .whl).
#     bash scripts/tools/gpu_check.sh [gpu_check.py flags]       e.g. --budget 300, --cpu-smoke
# PYTHON picks the interpreter (default python3).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if compgen -G ".whl/*.whl" > /dev/null; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
# the checkout (jazzgen) and scripts/ (trainbench) importable, whether or not jazzgen is installed
export PYTHONPATH=$PWD:$PWD/scripts${PYTHONPATH:+:$PYTHONPATH}
export PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=2
KERAS_BACKEND=torch $PY -c "import keras, symusic, mido" || { echo "gpu_check: keras/symusic/mido missing: run scripts/tools/fetch_gpu_wheels.sh here and carry .whl" >&2; exit 2; }
command -v nvidia-smi > /dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
exec $PY scripts/tools/gpu_check.py "$@"
