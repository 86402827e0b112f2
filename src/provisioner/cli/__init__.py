"""The `provisioner` command. Thin: parse, call the domain and storage, format."""
