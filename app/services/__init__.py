"""Domain work that is neither a view nor a model."""
