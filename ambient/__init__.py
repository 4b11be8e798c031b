"""ambient: a calm, private, stress-aware home."""

__version__ = "0.1.0"
