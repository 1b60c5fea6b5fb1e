"""The Explain tab: word attributions, pixel heatmaps, their sources and exports."""
