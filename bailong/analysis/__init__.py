"""Analysis of finished runs: read sweep outputs, compare initial-loss curves."""
