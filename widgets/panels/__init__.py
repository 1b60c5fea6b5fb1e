"""One panel per tab: Data, Model, Hyperparameters, Train, Evaluate, Runs, and their parts."""
