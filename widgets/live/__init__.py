"""Live views: the pump that moves a run's events into widgets, the state it folds, the chart."""
