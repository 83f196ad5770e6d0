"""Bank statements: the formats (camt.052/053/054, MT940, CSV) read and written, and matching them to the ledger.

Pure: nothing here reads or writes a database. The audit layer hands these
readers a file and the ledger's legs, and gets breaks back. The formats are
one table (:mod:`wonledger.statements.formats`), which also reads a file of
any of them; adding a format is one module and one row there.
"""
