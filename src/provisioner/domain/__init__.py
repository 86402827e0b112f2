"""The domain: the estate's value objects, settings and their rules. No I/O here."""
