"""The core: PBX model, KPIs, alerts, commands, audit.

Nothing here imports Textual or asyncssh (checked by import-linter and a test), and
nothing here does I/O: time comes from a :class:`~ccops.core.clock.Clock`, so every
part is testable as plain Python with a fake clock.
"""
