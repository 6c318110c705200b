#!/usr/bin/env bash
# Step 0 of the initializations beyond the paper (experiments/init_beyond_paper/README.md),
# from the repo root:   bash experiments/init_beyond_paper/run_step0.sh
# 1. the tokenizer and held-out text of experiments/zip_tie_refbase (tokenizer.sh, heldout.py)
# 2. the fitting text (fittext.py): training text, disjoint from every held-out text
# 3. step0.py: each arm's initialization timed, the three held-out groups scored
# 4. summarize.py: results/step0.md, results/step0.png
# Knobs (environment): BAILONG_CACHE (cache root), ARMS (comma-separated; default all),
# MAX_TOKENS (fit.max_tokens, 500), RESULTS.
set -euo pipefail
cd "$(dirname "$0")/../.."
export BAILONG_SHARED_DATA=${BAILONG_SHARED_DATA:-$(pwd)/../shared/data}
CACHE=${BAILONG_CACHE:-$HOME/.cache/bailong}
STUDY=$CACHE/zip_tie_refbase
RESULTS=${RESULTS:-experiments/init_beyond_paper/results}
PY=${PYTHON:-python}

source experiments/zip_tie_refbase/tokenizer.sh
$PY -m experiments.zip_tie_refbase.heldout "$STUDY/heldout_2500" --chars 2500
$PY -m experiments.init_beyond_paper.fittext "$STUDY/fit_300000.txt" --chars 300000
mkdir -p "$RESULTS"
nice $PY -m experiments.init_beyond_paper.step0 "$STUDY" "$RESULTS/step0.jsonl" \
  ${ARMS:+--arms "$ARMS"} --max-tokens "${MAX_TOKENS:-500}"
$PY -m experiments.init_beyond_paper.summarize "$RESULTS" "$RESULTS/step0.jsonl"
