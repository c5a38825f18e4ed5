"""Data in and out: import files (through the one write pipeline), export, and copying a whole ledger."""

FORMATS = ("jsonl", "csv")
