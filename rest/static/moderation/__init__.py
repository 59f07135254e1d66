"""The moderators' dashboard: index.html, app.css and app.js, served by ``rest/moderation_page.py``."""
