"""Contacts: the people at partners, with the posts they hold."""
