"""Notebooks here are fixtures of tests/test_notebook_verification.py, which runs nbval on altered copies of
them; they are not chapters, so the suite does not collect them itself."""

collect_ignore_glob = ["*.ipynb"]
