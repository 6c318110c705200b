#!/usr/bin/env bash
# The study's extended tokenizer (cached): bailong-extend-tokenizer with its defaults, Llama 2 +
# 27,241 Traditional Chinese pieces. Sourced by run_study.sh and run_sweep.sh with $PY, $CACHE
# and $STUDY set; EXTEND_ARGS adds Hydra overrides (the smoke test's smaller addition).
read -r -a EXTEND_ARGS <<< "${EXTEND_ARGS:-}"
if [[ ! -f $STUDY/tokenizer/tokenizer.model ]]; then
  $PY -m bailong.cli.extend_tokenizer paths.cache_dir="$CACHE" output_dir="$STUDY/tokenizer" \
    hydra.run.dir="$STUDY/tokenizer_run" "${EXTEND_ARGS[@]}"
fi
