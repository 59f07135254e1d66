"""Static files the app serves itself (no CDN, no build step)."""
