#!/usr/bin/env bash
# Part (b) of the reference-base study (experiments/zip_tie_refbase/README.md): QLoRA continued
# pretraining of models/zh_byte_base_23m on its held-out Chinese, from each initialization of
# the new rows and without extension, from the repo root:
#   bash experiments/zip_tie_refbase/run_sweep.sh
# 1. the extended tokenizer (tokenizer.sh, cached; the same one the probes use)
# 2. all of the base's held-out Chinese (heldout.py) as two sources, poems and modern; each run
#    splits them by document (seeded): trains on one part, scores the other (conf/experiment/
#    zip_tie_refbase_original.yaml)
# 3. (seed, arm) jobs, PARALLEL at a time, seed by seed: embedding_init in METHODS with the
#    extended tokenizer (experiment=zip_tie_refbase_ext), and the original tokenizer
#    (experiment=zip_tie_refbase_original); logs: sweep/<arm>_s<seed>.log
# 4. results/sweep/: per_job.csv, summary.csv/.md (mean ± std over seeds, tokens to reach the
#    no-extension arm's level; with THRESHOLD, to reach that zh bits/char), heldout_zh_bpc_mean_std.png
# Knobs (environment): BAILONG_CACHE (cache root), SEEDS (1,2,3), METHODS, PARALLEL (2), THREADS
# (torch threads per job, 1), THRESHOLD (none), RESULTS, SWEEP_ARGS (extra Hydra overrides, e.g. the smoke
# test's handful of steps), EXTEND_ARGS (tokenizer.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
export BAILONG_SHARED_DATA=${BAILONG_SHARED_DATA:-$(pwd)/../shared/data}
CACHE=${BAILONG_CACHE:-$HOME/.cache/bailong}
STUDY=$CACHE/zip_tie_refbase
SEEDS=${SEEDS:-1,2,3}
METHODS=${METHODS:-zip_tie,subword_mean,mean,random}
PARALLEL=${PARALLEL:-2}
export OMP_NUM_THREADS=${THREADS:-1}
RESULTS=${RESULTS:-experiments/zip_tie_refbase/results/sweep}
read -r -a SWEEP_ARGS <<< "${SWEEP_ARGS:-}"
PY=${PYTHON:-python}

source experiments/zip_tie_refbase/tokenizer.sh
# every held-out character (the experiment configs read heldout_all/zh_*.txt)
$PY -m experiments.zip_tie_refbase.heldout "$STUDY/heldout_all" --chars 100000000

rm -rf "$STUDY/sweep"
mkdir -p "$STUDY/sweep"
job() {
  local name=$1 seed=$2
  shift 2
  nice $PY -m bailong.cli.train -m paths.cache_dir="$CACHE" seed="$seed" \
    hydra.sweep.dir="$STUDY/sweep/${name}_s$seed" "$@" "${SWEEP_ARGS[@]}" \
    >"$STUDY/sweep/${name}_s$seed.log" 2>&1
}
failed=0
for seed in ${SEEDS//,/ }; do
  for method in original ${METHODS//,/ }; do
    if [[ $method == original ]]; then
      job original "$seed" experiment=zip_tie_refbase_original &
    else
      job "$method" "$seed" experiment=zip_tie_refbase_ext embedding_init="$method" &
    fi
    while (($(jobs -rp | wc -l) >= PARALLEL)); do wait -n || failed=1; done
  done
done
for pid in $(jobs -p); do wait "$pid" || failed=1; done
if ((failed)); then
  echo "a sweep job failed: see $STUDY/sweep/*.log and the jobs' FAILED files" >&2
  exit 1
fi
$PY -m experiments.zip_tie_refbase.sweep_summary "$STUDY/sweep" "$RESULTS" \
  ${THRESHOLD:+--threshold "$THRESHOLD"}
echo "results in $RESULTS"
