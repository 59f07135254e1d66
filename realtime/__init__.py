"""The WebSocket channel ``/v1/ws``: connections, command dispatch, and Redis fan-out across nodes."""
