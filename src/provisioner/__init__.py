"""Provisioner: provisions SIP phones and gives them failover through DNS."""

__version__ = "0.1.0"
