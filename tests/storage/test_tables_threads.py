"""Ledgers opened from several threads at once: the store's tables are built once, whichever thread asks first."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_threads_asking_for_the_same_tables_first_at_once_all_get_them() -> None:
    # A fresh interpreter, so that no table is built yet; a barrier makes the threads ask at the same moment.
    script = textwrap.dedent(
        """
        import threading
        from wonledger.store import tables

        names = ["outflows", "conversions", "travel_movements", "journal", "legs", "accounts", "metadata"]
        barrier = threading.Barrier(8)
        problems = []

        def ask():
            barrier.wait()
            try:
                for name in names:
                    getattr(tables, name)
            except Exception as exc:
                problems.append(repr(exc))

        threads = [threading.Thread(target=ask) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        print(problems or "ok", len(tables.metadata.tables))
        """
    )
    for _ in range(5):
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
        assert done.stdout.split()[0] == "ok", done.stdout
        assert int(done.stdout.split()[-1]) >= 16
