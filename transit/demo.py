"""Demo network generator (being written)."""
