"""One module per action, one shape: resolve the targets, run the steps in the bounded pool, one document."""
