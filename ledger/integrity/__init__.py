"""Integrity: walking the hash chain against the stored events, and the heads a scheme publishes."""
