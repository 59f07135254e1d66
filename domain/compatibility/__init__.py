"""The 6-question quiz and trait compatibility (CONTRACT section 3)."""
