"""The managers' dashboard: headline figures, charts and lists, each linked to its list."""
