"""Flask CLI commands, one module per concern; each calls into the core."""
