"""A phone app next to the web reader: the client core (through the Python bindings)
reads the position the web reader saved, moves it, and returns the loan. Driven by
tests/browser/reader.mjs, which checks that the web reader follows.

Usage (the bindings on sys.path):
  cross_device.py SERVER LIBRARY CARD PASSWORD TITLE_ID follow
      prints {"read": <locator the web saved>, "moved": <locator this "phone" saved>}
  cross_device.py SERVER LIBRARY CARD PASSWORD TITLE_ID return
      returns the reader's loan of the title; prints {"state": "returned"}
"""

import json
import os
import sys

server, library, card, password, title_id, command = sys.argv[1:7]
os.environ["JIEYUE_SERVER"] = server
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_bindings import Progress, make_client, run  # noqa: E402  (needs JIEYUE_SERVER)
from jieyue_py import jieyue  # noqa: E402

client = make_client()
run(client.login(library, card, password))
run(client.enrol_device())

if command == "follow":
    # A new device has no position of its own: syncing takes the one the web saved.
    read = run(client.sync_position(title_id))
    if read is None:
        sys.exit("no position was saved for the title")
    # The loan was made on the web: this device fetches a licence of its own for it,
    # then the book.
    loan = next(l for l in run(client.loans(False)) if l.title_id == title_id)
    run(client.fetch_licence(loan.id))
    run(client.download(title_id, Progress()))
    book = client.open_book(title_id)
    order = book.reading_order()
    here = book.index_of_locator(read)
    # Read on in the app: halfway through the next chapter (or this one, at its end).
    moved = book.locator_at(here + 1, 0.5) if here + 1 < len(order) else book.locator_at(here, 0.9)
    client.save_position(title_id, moved)
    synced = run(client.sync_position(title_id))
    print(json.dumps({
        "read": json.loads(jieyue.locator_to_json(read)),
        "moved": json.loads(jieyue.locator_to_json(synced or moved)),
    }, ensure_ascii=False))
elif command == "return":
    loan = next(l for l in run(client.loans(False)) if l.title_id == title_id)
    returned = run(client.return_loan(loan.id))
    print(json.dumps({"state": returned.state.name.lower()}))
else:
    sys.exit(f"unknown command {command}")

# The answer is out. Leave without Python's interpreter shutdown: once, after printing
# its answer, this script died in that shutdown with glibc's "FATAL: exception not
# rethrown" (SIGABRT), which is what happens when CPython unwinds a foreign thread that
# calls into the interpreter while it tears down (the client's runtime threads hold
# Python objects: the store, the clock). An app process has no such shutdown, and this
# script does not need one.
sys.stdout.flush()
os._exit(0)
