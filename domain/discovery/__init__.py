"""Discovery: who to show, in what order, and live refills of open card credits."""
