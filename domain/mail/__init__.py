"""Mail that is never lost: an outbox written in the causing transaction, sent after commit (docs/mail.md).

``outbox.enqueue`` writes a mail in the caller's session; ``sender.MailSender`` (started by the
lifespan on every node) claims due rows, hands them to a ``transport.MailTransport`` and records the
outcome, retrying with back-off (``retry.RetryPolicy``) for up to 24 hours.
"""
