"""halab's grading checks, run by pytest through halab's plugin (see conftest.py)."""
