"""The Workbench (every tab in one cell), lesson mode, and the runs this kernel started."""
