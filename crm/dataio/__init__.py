"""Data in and out: spreadsheet imports (CSV, XLSX) and streamed list exports."""
