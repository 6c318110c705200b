#!/usr/bin/env bash
# The new_rows study (experiments/new_rows_refbase/README.md), from the repo root:
#   bash experiments/new_rows_refbase/run.sh
# 1. the extended tokenizer and all held-out text of models/zh_byte_base_23m (the
#    zip_tie_refbase study's tokenizer.sh and heldout.py, cached)
# 2. one run per (seed, lora.embeddings arm), PARALLEL at a time (experiment=new_rows_refbase):
#    QLoRA on the base's held-out poems, modern Chinese and English; heldout_bpc scores each
#    source's validation documents (never trained on) every 6 steps
# 3. results: summary.md / per_job.csv (summarize.py)
# Knobs (environment): BAILONG_CACHE, SEEDS (1,2), ARMS (full,new_rows), PARALLEL (2), THREADS
# (1), RESULTS, SWEEP_ARGS (extra Hydra overrides).
set -euo pipefail
cd "$(dirname "$0")/../.."
export BAILONG_SHARED_DATA=${BAILONG_SHARED_DATA:-$(pwd)/../shared/data}
CACHE=${BAILONG_CACHE:-$HOME/.cache/bailong}
STUDY=$CACHE/zip_tie_refbase
OUT=$CACHE/new_rows_refbase
SEEDS=${SEEDS:-1,2}
ARMS=${ARMS:-full,new_rows}
PARALLEL=${PARALLEL:-2}
export OMP_NUM_THREADS=${THREADS:-1}
RESULTS=${RESULTS:-experiments/new_rows_refbase/results}
read -r -a SWEEP_ARGS <<< "${SWEEP_ARGS:-}"
PY=${PYTHON:-python}

source experiments/zip_tie_refbase/tokenizer.sh
$PY -m experiments.zip_tie_refbase.heldout "$STUDY/heldout_all" --chars 100000000

rm -rf "$OUT"
mkdir -p "$OUT"
failed=0
for seed in ${SEEDS//,/ }; do
  for arm in ${ARMS//,/ }; do
    ( /usr/bin/time -v nice $PY -m bailong.cli.train paths.cache_dir="$CACHE" seed="$seed" \
        experiment=new_rows_refbase lora.embeddings="$arm" \
        hydra.run.dir="$OUT/${arm}_s$seed" "${SWEEP_ARGS[@]}" ) \
      >"$OUT/${arm}_s$seed.log" 2>&1 &
    while (($(jobs -rp | wc -l) >= PARALLEL)); do wait -n || failed=1; done
  done
done
for pid in $(jobs -p); do wait "$pid" || failed=1; done
if ((failed)); then
  echo "a run failed: see $OUT/*.log" >&2
  exit 1
fi
$PY -m experiments.new_rows_refbase.summarize "$OUT" "$RESULTS"
echo "results in $RESULTS"
