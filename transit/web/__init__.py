"""The web layer: page, admin and API blueprints. Thin: parse, call the core, render."""
