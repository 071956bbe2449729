"""Rule modules, one per domain. Importing a module registers its rules (see rules.registry)."""
