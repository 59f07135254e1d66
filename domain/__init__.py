"""The dating domain: services, repositories and models shared by REST and the socket.

Nothing here imports from ``rest`` or ``realtime``.
"""
