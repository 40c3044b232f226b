"""Accounts, roles, sign-in and the first-administrator setup."""
