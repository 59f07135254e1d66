"""The Python client of Delete's realtime socket ``/v1/ws`` (see ``delete_client.client`` and docs/client.md).

``DeleteClient`` sends commands and waits for their replies, queues events (durable ones deduped by
``seq``) and resumes with ``sync`` after a drop; ``ClientError`` is a reply with ``ok: false``,
``Closed`` a socket closed for good.
"""

from delete_client.client import ClientError, Closed, DeleteClient

__all__ = ["ClientError", "Closed", "DeleteClient"]
