"""Profiles: the user's own view, ages, and (later) prompts, quiz and badges."""
