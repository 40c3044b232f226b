"""Activities (meetings, calls, visits, ceremonies, notes) and follow-ups."""
