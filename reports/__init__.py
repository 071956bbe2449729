"""The canonical report, its JSON Schema, and the renderers that read only the report."""
