"""Fixtures and helpers the tests share (no tests here)."""
