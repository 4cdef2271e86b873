#!/usr/bin/env bash
# Every check that needs CUDA, in one run: the CUDA-only tests, then the GPU map benchmark.
# Usage (repository root, in an environment with a CUDA build of torch, MONAI and,
# for the cuCIM path, boundaryloss[gpu-cu12] or [gpu-cu13]):
#   bash bench/gpu_checks.sh            # results in bench/results/gpu_<device>.json/.md
# With $OUT set (a device machine's output folder) the results are copied there too.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
PY="${PY:-python}"
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.is_available())"
"$PY" -c "from boundaryloss.maps._backend import cucim_available; print('cuCIM:', cucim_available())"
"$PY" -m pytest -q -p no:cacheprovider -n 0 -rs \
    tests/maps/test_gpu.py tests/losses/test_cuda.py tests/monai/test_transforms.py \
    | tee "${OUT:-/tmp}/gpu_tests.txt"
"$PY" bench/bench_gpu_maps.py --repeats "${REPEATS:-5}"
shopt -s nullglob
results=(bench/results/gpu_*.json bench/results/gpu_*.md)
if [ -n "${OUT:-}" ] && [ ${#results[@]} -gt 0 ]; then cp "${results[@]}" "$OUT"/; fi
