"""Executes one notebook headless with the tslab kernel; writes the executed notebook.

usage: run_notebook.py NOTEBOOK OUT.ipynb [TIMEOUT_S]

tslab reports a failing cell only as stderr text (the exception message nbclient shows is empty), so on
a CellExecutionError the failing cell's source and stderr are printed and the partial notebook is still
written to OUT.ipynb; exit status 1. Errors are never allowed: after one, tslab drops queued cells.
"""
import os
import sys

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def main() -> int:
    src, out = sys.argv[1], sys.argv[2]
    timeout = int(sys.argv[3]) if len(sys.argv) > 3 else 600
    nb = nbformat.read(src, as_version=4)
    client = NotebookClient(nb, kernel_name="tslab", timeout=timeout,
                            resources={"metadata": {"path": os.path.dirname(os.path.abspath(src))}})
    status = 0
    try:
        client.execute()
    except CellExecutionError:
        status = 1
        for index, cell in enumerate(nb.cells):
            streams = [o for o in cell.get("outputs", []) if o.get("output_type") == "stream" and o.get("name") == "stderr"]
            errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
            if streams or errors:
                print(f"--- cell {index} (id {cell.get('id')}) failed:\n{cell.source}\n--- stderr:", file=sys.stderr)
                for o in streams:
                    print(o.get("text", ""), file=sys.stderr)
                for o in errors:
                    print(f"{o.get('ename')}: {o.get('evalue')}", file=sys.stderr)
    finally:
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        nbformat.write(nb, out)
    return status


if __name__ == "__main__":
    sys.exit(main())
