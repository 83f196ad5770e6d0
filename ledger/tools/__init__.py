"""Tools beside the ledger: the benchmark that times ``wonledger submit`` against this machine's floor."""
