"""joinstall lint: find the join-before-drain family in source, before it runs."""
