"""`python -m provisioner` runs the same command line as `provisioner`."""

from provisioner.cli.main import main

main()
