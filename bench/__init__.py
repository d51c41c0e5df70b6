"""Benchmarks a user runs to reproduce the figures of README.md and docs/BENCHMARKS.md:
``python -m bench.run_all`` (``make bench``); what each measures is in docs/BENCHMARKS.md.

Each ``bench/<figure>.py`` builds its own world (temporary database, the Google sandbox in its
own process, the service under gunicorn on loopback), prints a short table and, last, one JSON
line of figures. They print figures; they never assert targets.
"""
