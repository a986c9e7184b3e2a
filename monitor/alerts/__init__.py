"""Alert channels: pure rendering (``render``) and the I/O edges (``webhook``, ``email``).

Kept import-free on purpose: ``monitor.alerts.render`` is part of the pure core and must not
pull httpx or aiosmtplib in through this package's ``__init__``.
"""
