"""Dynamic monitoring (DOMAIN.md §5) is built by the monitoring issue."""
