"""The HTTP side: phones' routes, the admin API, the UI and health. Thin over the domain."""
