"""Every object that crosses the wire, defined once (CONTRACT sections 1 and 2).

The domain's view builders return these ``TypedDict``s (mypy checks every key
they build); the AsyncAPI and OpenAPI documents, the REST response models and
the TypeScript client's types are all generated from them. Objects are closed
(``extra="forbid"``), so a leaked field, such as an email in a ``Card``, fails
a schema check; a key that may be absent is ``NotRequired``.

- ``scalars``: ids, times and dates as strings with their formats; ``rfc3339``.
- ``enums``: the contract's closed vocabularies (states, reasons, error codes).
- ``objects``: user, card, photo, prompt, compatibility, match, message.
- ``moderation``: reports, queue entries, the dossier, audit rows.
- ``photo_review``: the photo review queue, its events and the review reply.
- ``events``: the ``data`` of every server event.
- ``replies``: the ``data`` of every command's success reply; ``errors``: the error body.
"""
