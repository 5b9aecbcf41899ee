"""Starts `jieyue demo` on a free port for the binding tests and prints its URL.

Usage: demo_server.py JIEYUE_BINARY DATA_DIR BOOKS PID_FILE [WORKING_DIR]
BOOKS is a file or folder of EPUBs, or `-` for the demo's own collection (the
repository's testdata, found from WORKING_DIR, which defaults to the current one).
The server keeps running in the background (its pid goes to PID_FILE); the URL of the
running server is printed on stdout once it is listening.
"""

import os
import re
import subprocess
import sys
import time

binary, data_dir, books, pid_file = sys.argv[1:5]
working_dir = sys.argv[5] if len(sys.argv) > 5 else None
log = open(os.path.join(data_dir, "server.log"), "w")
env = dict(os.environ, JIEYUE_BIND="127.0.0.1:0", JIEYUE_LOG="warn")
command = [binary, "demo", "--data-dir", data_dir]
if books != "-":
    command += ["--books", books]
server = subprocess.Popen(
    command,
    stdout=subprocess.PIPE,
    stderr=log,
    text=True,
    env=env,
    cwd=working_dir,
)
with open(pid_file, "w") as f:
    f.write(str(server.pid))
deadline = time.time() + 300
for line in server.stdout:
    log.write(line)
    log.flush()
    if line.startswith("Jieyue is listening on "):
        print(re.search(r"http://\S+", line).group(0))
        sys.stdout.flush()
        break
    if time.time() > deadline:
        break
else:
    sys.exit("the demo server stopped before listening; see server.log")
# Keep draining stdout so the server never blocks on a full pipe.
if os.fork() == 0:
    # Let go of the caller's stdout so `$(demo_server.py ...)` returns.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.setsid()
    for line in server.stdout:
        log.write(line)
        log.flush()
    os._exit(0)
