#!/usr/bin/env bash
# Reruns the whole zip-tie study (experiments/zip_tie_tiny/README.md) from the repo root:
#   bash experiments/zip_tie_tiny/run_study.sh
# 1. tiny English-centric base, pretrained from scratch (cached: skipped when its model exists)
# 2. Llama 2 tokenizer + 3,109 Traditional Chinese pieces (cached)
# 3. bailong-probe-init on the sweep's held-out text (before any training)
# 4. the sweep: embedding_init in {zip_tie, subword_mean, mean, random} x seeds, and the
#    original tokenizer x seeds, QLoRA continued pretraining for a fixed token budget
# 5. results/: per_job.csv, summary.csv/.md (mean ± std over seeds), bailong-compare PNG
# Knobs (environment): BAILONG_CACHE (cache root), SEEDS (1,2,3), METHODS, PARALLEL, THRESHOLD (zh
# bits/char for tokens-to-threshold), RESULTS, and BASE_ARGS / SWEEP_ARGS (extra Hydra
# overrides, e.g. the smoke test's handful of steps).
set -euo pipefail
cd "$(dirname "$0")/../.."
export BAILONG_SHARED_DATA=${BAILONG_SHARED_DATA:-$(pwd)/../shared/data}
CACHE=${BAILONG_CACHE:-$HOME/.cache/bailong}
STUDY=$CACHE/zip_tie_tiny
SEEDS=${SEEDS:-1,2,3}
METHODS=${METHODS:-zip_tie,subword_mean,mean,random}
THRESHOLD=${THRESHOLD:-12.0}
PARALLEL=${PARALLEL:-3}  # sweep arms run at once
RESULTS=${RESULTS:-experiments/zip_tie_tiny/results}
read -r -a BASE_ARGS <<< "${BASE_ARGS:-}"
read -r -a SWEEP_ARGS <<< "${SWEEP_ARGS:-}"
PY=${PYTHON:-python}

if [[ ! -f $STUDY/base/model/config.json ]]; then
  rm -rf "$STUDY/base"
  $PY -m bailong.cli.train experiment=zip_tie_tiny_base paths.cache_dir="$CACHE" \
    hydra.run.dir="$STUDY/base" "${BASE_ARGS[@]}"
fi
if [[ ! -f $STUDY/tokenizer/tokenizer.json ]]; then
  # 4,000-piece Chinese BPE at 99% character coverage: +3,109 pieces (README: why)
  $PY -m bailong.cli.extend_tokenizer paths.cache_dir="$CACHE" output_dir="$STUDY/tokenizer" \
    spm.vocab_size=4000 spm.character_coverage=0.99 merge.max_added=null
fi

# held-out text of the first seed's split, scored by the probe as the runs score it
$PY -m experiments.zip_tie_tiny.study heldout "$STUDY/heldout" paths.cache_dir="$CACHE" \
  seed="${SEEDS%%,*}" "${SWEEP_ARGS[@]}"
rm -rf "$STUDY/probe" "$STUDY/sweep"
$PY -m bailong.cli.probe_init paths.cache_dir="$CACHE" hydra.run.dir="$STUDY/probe" \
  model.name_or_path="$STUDY/base/model" quantization=nf4_fp32 \
  original_tokenizer="$BAILONG_SHARED_DATA/tokenizers/llama2/tokenizer.model" \
  extended_tokenizer="$STUDY/tokenizer/tokenizer.model" methods="[$METHODS]" \
  target_files="[$STUDY/heldout/zh.txt]" english_files="[$STUDY/heldout/en.txt]" \
  heldout_fraction=0.999 block_size=128 embedding_init.output_weights=first \
  embedding_init.input_weights=uniform embedding_init.tie_output_to_input=false  # as the sweep

# one Hydra multirun over the seeds per arm, PARALLEL arms at a time (logs: sweep/<arm>.log)
mkdir -p "$STUDY/sweep"
arm() {
  local name=$1
  shift
  $PY -m bailong.cli.train -m paths.cache_dir="$CACHE" seed="$SEEDS" \
    hydra.sweep.dir="$STUDY/sweep/$name" "$@" "${SWEEP_ARGS[@]}" >"$STUDY/sweep/$name.log" 2>&1
}
failed=0
for method in ${METHODS//,/ } original; do
  if [[ $method == original ]]; then
    arm original experiment=zip_tie_tiny_original &
  else
    arm "$method" experiment=zip_tie_tiny_ext embedding_init="$method" &
  fi
  while (($(jobs -rp | wc -l) >= PARALLEL)); do wait -n || failed=1; done
done
for pid in $(jobs -p); do wait "$pid" || failed=1; done
if ((failed)); then
  echo "a sweep arm failed: see $STUDY/sweep/*.log and the jobs' FAILED files" >&2
  exit 1
fi

mkdir -p "$RESULTS"
cp "$STUDY/probe/probe_init.json" "$RESULTS/probe_init.json"
$PY -m experiments.zip_tie_tiny.study summarize "$STUDY/sweep" "$RESULTS" --threshold "$THRESHOLD"
$PY -m bailong.cli.compare "$STUDY/sweep" --metric heldout/zh_wiki_drcd/bpc \
  --threshold "$THRESHOLD" --out "$STUDY/compare"
cp "$STUDY/compare/loss_vs_tokens.png" "$RESULTS/heldout_zh_bpc_vs_tokens.png"
cp "$STUDY/compare/summary.csv" "$RESULTS/compare_summary.csv"
echo "results in $RESULTS"
