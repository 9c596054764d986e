"""Reference data bundled with Guichet (built from public sources, committed as JSON)."""
