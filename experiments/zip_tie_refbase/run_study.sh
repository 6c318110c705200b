#!/usr/bin/env bash
# The reference-base initialization study (experiments/zip_tie_refbase/README.md), from the
# repo root:   bash experiments/zip_tie_refbase/run_study.sh
# 1. the extended tokenizer: bailong-extend-tokenizer defaults (+27,241 pieces; cached)
# 2. held-out text of models/zh_byte_base_23m (its README): CHARS characters each of classical
#    poems, modern Chinese and English
# 3. bailong-probe-init --config-name probe_init_refbase, once per Chinese group (both score
#    the same English): every method and every zip-tie reading, before any training
# 4. results/: results.md / results.csv / bits_per_char.png and the probes' JSON
# Knobs (environment): BAILONG_CACHE (cache root), CHARS (2500), PARALLEL (2: both probes at
# once), RESULTS, PROBE_ARGS (extra Hydra overrides for the probe, e.g. quantization=nf4_fp32).
set -euo pipefail
cd "$(dirname "$0")/../.."
export BAILONG_SHARED_DATA=${BAILONG_SHARED_DATA:-$(pwd)/../shared/data}
CACHE=${BAILONG_CACHE:-$HOME/.cache/bailong}
STUDY=$CACHE/zip_tie_refbase
CHARS=${CHARS:-2500}
PARALLEL=${PARALLEL:-2}
RESULTS=${RESULTS:-experiments/zip_tie_refbase/results}
read -r -a PROBE_ARGS <<< "${PROBE_ARGS:-}"
PY=${PYTHON:-python}

source experiments/zip_tie_refbase/tokenizer.sh
$PY -m experiments.zip_tie_refbase.heldout "$STUDY/heldout_$CHARS" --chars "$CHARS"

failed=0
for group in zh_poems zh_modern; do
  rm -rf "$STUDY/probe_$group"
  nice $PY -m bailong.cli.probe_init --config-name probe_init_refbase \
    paths.cache_dir="$CACHE" hydra.run.dir="$STUDY/probe_$group" \
    extended_tokenizer="$STUDY/tokenizer/tokenizer.model" \
    target_files="[$STUDY/heldout_$CHARS/$group.txt]" \
    english_files="[$STUDY/heldout_$CHARS/en.txt]" "${PROBE_ARGS[@]}" \
    >"$STUDY/probe_$group.log" 2>&1 &
  while (($(jobs -rp | wc -l) >= PARALLEL)); do wait -n || failed=1; done
done
for pid in $(jobs -p); do wait "$pid" || failed=1; done
if ((failed)); then
  echo "a probe failed: see $STUDY/probe_*.log" >&2
  exit 1
fi
$PY -m experiments.zip_tie_refbase.summarize "$STUDY" "$RESULTS"
