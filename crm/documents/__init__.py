"""Documents attached to partners, contacts, agreements and projects: signed agreements,
scans, annexes, minutes. Each document keeps every version of its file."""
