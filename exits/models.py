"""Exit cases and campaigns (DOMAIN.md §3–§4) are built by the exit-workflow issue."""
