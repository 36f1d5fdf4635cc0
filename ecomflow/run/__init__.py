"""Running the job locally: settings layers, the mini-cluster runner, resume points and the
packaged zip on a local cluster."""
