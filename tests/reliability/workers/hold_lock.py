"""Hold a ledger's write lock, as another program might, until told to stop (a harness worker, not a test).

    python hold_lock.py URL

SQLite: ``BEGIN IMMEDIATE`` on the file; PostgreSQL: a transaction holding
the row lock of the chain head, which every writer takes. Prints ``locked``
once it holds the lock, and lets go when stdin closes.
"""

from __future__ import annotations

import sys

from sqlalchemy.engine import make_url


def main() -> None:
    url = make_url(sys.argv[1])
    if url.get_backend_name() == "sqlite":
        import sqlite3

        conn = sqlite3.connect(url.database, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
    else:
        import psycopg

        conn = psycopg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False))
        conn.execute("SELECT seq FROM head WHERE id = 1 FOR UPDATE")
    print("locked", flush=True)
    sys.stdin.read()
    conn.rollback()
    conn.close()


if __name__ == "__main__":
    main()
