"""Infrastructure apart from the rules: what talks to Redis, and what both transports share.

- ``redis_publisher``: publishing hub messages, with a retry buffer for Redis outages (the domain's
  ``EventLog`` is handed one as its ``Publisher``);
- ``login_throttle`` and ``typing_throttle``: counters in Redis behind the domain's ``LoginGuard`` and
  ``TypingGate`` ports;
- ``outages``: telling a dependency outage from a bug (both transports answer "try again later");
- ``validation_details``: a pydantic error as the contract's ``details.fields`` (both transports).
- ``smtp_transport`` (``SMTP_URL`` read by ``smtp_url``) and ``eml_transport`` (the development folder):
  the mail sender's transports behind the domain's ``MailTransport`` port (docs/mail.md).

Imports the domain (its ports, errors and quoting), never a transport or the composition root.
"""
