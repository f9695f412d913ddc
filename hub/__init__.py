"""Secure document-exchange and messaging hub for municipalities (see README.md)."""
