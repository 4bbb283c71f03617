"""The commands and the page: thin layers of flags (or JSON fields) over the floors below.

``ingest``, ``train``, ``generate``, ``evaluate``, ``serve`` (the page, with ``static/``),
and ``cli`` (one-line errors and exit codes, shared by all of them).
"""
