"""Escaped HTML pieces, PNG views, plot functions, and the plain report of a run."""
