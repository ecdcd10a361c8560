"""A turn, from the executor that runs the runner to the task updates it publishes and the store that keeps them."""
