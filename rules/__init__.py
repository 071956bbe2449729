"""kvaudit's rule registry, engine, rule catalogue, key-purpose profiles and compliance mappings."""
