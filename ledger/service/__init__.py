"""The service: the facade (:class:`~wonledger.service.facade.Ledger`) every command goes through."""
