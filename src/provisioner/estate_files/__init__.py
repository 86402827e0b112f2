"""Estate files: the YAML an operator loads (`provisioner load`) and dumps (`provisioner dump`)."""
