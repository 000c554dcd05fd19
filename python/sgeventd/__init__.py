"""sgeventd's Python side for plugin authors: ``sgeventd.testing`` (docs/testing-plugins.md)."""
