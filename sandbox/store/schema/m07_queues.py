"""Placeholder: this feature's tables are being written (no ';' inside SQL comments)."""

SQL = "SELECT 1"
