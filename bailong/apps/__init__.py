"""Apps that compose the stages: reload a finished run, export it, evaluate it, probe
initializations at step 0, report the data. Above every stage, below the thin cli/ entries."""
