"""Accounts and sessions: signup, login, token rotation, logout."""
