"""The domain: values, events, commands, the pure timeline fold and the Organization aggregate.

Nothing here does I/O or imports from the application, storage or integrity packages.
"""
