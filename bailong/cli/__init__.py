"""Thin command-line entries: each resolves a Hydra config and hands it to the library."""
