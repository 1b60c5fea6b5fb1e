"""Controls generated from the config's fields, and the form that turns them into a config."""
