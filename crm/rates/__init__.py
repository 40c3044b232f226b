"""Exchange rates that admins keep per year, used to convert money on the dashboard."""
