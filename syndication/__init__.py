"""Importing posts, declaring feeds, rendering them, and serving them over HTTP."""
