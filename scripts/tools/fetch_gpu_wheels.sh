#!/usr/bin/env bash
# Download into .whl/ exactly the wheels that scripts/tools/gpu_check.py needs on a lent GPU machine.
#
#     bash scripts/tools/fetch_gpu_wheels.sh        # then carry .whl (git-ignored) to the machine
#
# That machine (Python 3.12, x86_64, no network) already has jax + jaxlib + the CUDA plugins,
# torch, numpy, h5py, matplotlib, tqdm, rich, absl-py, ml-dtypes, packaging and
# typing-extensions; it lacks Keras and the MIDI reader.  These are what jazzgen's training
# path imports that it lacks, with their own missing requirements (from each wheel's
# Requires-Dist), at the versions of requirements.txt / the CPU venv.  No TensorFlow: the
# check runs the jax and torch backends.
set -euo pipefail
cd "$(dirname "$0")/.."
WHEELS=(
  keras==3.15.1        # the model code
  namex==0.1.0         # keras
  optree==0.20.0       # keras (compiled: cp312 manylinux)
  symusic==0.6.0       # MIDI reader (compiled: cp312 manylinux)
  pySmartDL==1.3.4     # symusic
  platformdirs==4.14.9 # symusic
  mido==1.3.3          # MIDI structure checks
)
rm -rf .whl && mkdir -p .whl
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d .whl "${WHEELS[@]}"
n=$(ls .whl/*.whl | wc -l)
if [ "$n" -ne "${#WHEELS[@]}" ]; then
  echo "fetch_gpu_wheels: expected ${#WHEELS[@]} wheels in .whl/, got $n" >&2
  exit 1
fi
echo "fetch_gpu_wheels: $n wheels, $(du -sh .whl | cut -f1) in .whl/"
