"""Where people are, at the precision others may learn it: ~1 km grid cells and the rules for moving."""
