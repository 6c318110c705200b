"""Cross-cutting pieces every stage and app may use; core imports no stage (tests/test_house.py)."""
