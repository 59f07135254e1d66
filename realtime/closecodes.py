"""WebSocket close codes the server uses (CONTRACT section 2; 1013 is our documented choice)."""

POLICY = 1008          # Origin not allowed (before accept: HTTP 403)
TOO_BIG = 1009         # frame over 64 KiB (sent by the protocol layer)
INTERNAL_ERROR = 1011  # the server failed on this socket: reconnect, then sync
RESTART = 1012         # server shutting down: reconnect (to another node)
SLOW_CONSUMER = 1013   # outbox overflowed: reconnect, then sync
UNAUTHORIZED = 4401    # no valid token, or it expired / was revoked and not renewed
SUSPENDED = 4403       # account suspended, banned or deleted
AUTH_TIMEOUT = 4408    # no auth frame within 10 s
ABUSE = 4429           # sustained command flooding
TOKEN_EXPIRED = UNAUTHORIZED
