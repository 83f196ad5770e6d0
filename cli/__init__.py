"""The `wonledger` command line: click commands over ledger's public API only."""
