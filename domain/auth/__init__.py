"""Accounts and sessions: signup, login, token rotation, logout, email verification, forgotten and changed
passwords (docs/accounts.md)."""
