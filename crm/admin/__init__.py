"""Administration: user accounts and, later, settings."""
