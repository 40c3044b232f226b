"""The JSON API at /api/v1/ and the personal tokens that authenticate it."""
