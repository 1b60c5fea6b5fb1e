"""The Sweep tab: the search-space editor, the live view of the trials, their charts."""
