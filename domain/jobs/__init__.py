"""Scheduled work; each job is one function over a session, run by ``delete_api/jobs.py``."""
