"""Benchmarks of the Delete server: each prints figures (JSON, or a report folder), never a pass/fail test.

Run from the repository root as ``python -m bench realtime|discovery|load|roundtrips`` (``--help`` on each;
the arguments live in ``bench/command.py``, each benchmark is imported only when it runs). The package is
tooling outside the server: it is not in the wheel nor in the Docker image, and no server package imports it.
"""
