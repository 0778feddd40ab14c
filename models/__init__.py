"""The model catalog (`catalog.toml`): embedded models that install from the package index."""
