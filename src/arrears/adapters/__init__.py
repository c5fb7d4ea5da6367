"""Adapters: storage, files, channels, clock. They implement the domain's ports."""
