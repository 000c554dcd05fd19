"""sgeventd's Python worker: hosts shotgunEvents plugins behind the worker protocol v1.

The daemon (C++) never runs plugin code itself. It starts this program under the interpreter the
user configured (``[python] interpreter``), so plugins keep their studio's Python, site-packages
and compiled modules, and talks to it with JSON lines over stdin/stdout
(docs/plugin-protocol.md). Everything here is standard library only and runs on CPython 3.7+.
"""

__version__ = "0.1.0"

WORKER_NAME = "sgeventd-python-worker"
PROTOCOL_VERSION = 1
