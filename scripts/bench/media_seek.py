"""Seek and sustained-read benchmark of the client core's media reader, through the
generated Python bindings (the same C ABI the Kotlin and Swift bindings use), against
a running `jieyue demo` whose catalogue holds one large video. scripts/bench/run-media-seek
starts the server and runs the two steps, each in its own process:

  media_seek.py setup SERVER DATA_DIR QUERY
      logs in (a demo patron), enrols the device, finds the title by QUERY, borrows
      and downloads it; prints the download's time. The device's secrets go to a file
      in DATA_DIR (a stand-in for the platform's keystore) so that the next step, a new
      process, is the same device.
  media_seek.py read SERVER DATA_DIR QUERY PLAIN_FILE [ROUNDS] [SEED]
      opens the downloaded book and measures, ROUNDS times (default 3):
        (i)   open_media(href) alone, 100 times;
        (ii)  read_at(offset, 65536) at 100 random offsets (random.Random(SEED)) on one
              reader; and, as the baseline in the same round, 64 KiB at the same offsets
              from PLAIN_FILE (the unencrypted video) with seek + read on an unbuffered
              Python file (one lseek and one read system call each);
        (iii) open_media + read_at together, per sample (100 other offsets, from SEED + 1);
              and, as the floor under every read, read_at 4 KiB inside the chunk the
              reader holds decrypted (no file read, no decryption);
        (iv)  the whole video read in order in 256 KiB read_at calls (MB/s), and the
              plain file read the same way;
      with the median, p90, p99 and max in ms, and CPU (time.process_time) per call;
      then this process's peak RSS (resource.getrusage ru_maxrss).
Output: human-readable lines, and one `RESULT {json}` line per round for the caller.
"""

import asyncio
import datetime
import json
import os
import random
import resource
import sys
import time
import urllib.request

from jieyue_py import jieyue
from jieyue_py.jieyue import ClientConfig, DownloadOutcome

LIBRARY, CARD, PASSWORD = "city", "C0001", "demo-reader-pass"
SAMPLES = 100
SEEK_READ = 65536
SEQUENTIAL_READ = 256 * 1024


class FileStore(jieyue.SecureStore):
    """A SecureStore kept in a JSON file (apps use Keystore or Keychain): the bench's
    second process must be the same enrolled device."""

    def __init__(self, path):
        self.path = path
        self.values = {}
        if os.path.exists(path):
            with open(path) as f:
                self.values = {k: bytes.fromhex(v) for k, v in json.load(f).items()}

    def _save(self):
        with open(self.path, "w") as f:
            json.dump({k: v.hex() for k, v in self.values.items()}, f)

    def put(self, key, value):
        self.values[key] = bytes(value)
        self._save()

    def get(self, key):
        return self.values.get(key)

    def delete(self, key):
        self.values.pop(key, None)
        self._save()


class SystemClock(jieyue.PlatformClock):
    """The real clocks: wall time and CLOCK_BOOTTIME (monotonic, counts in sleep)."""

    def wall_time(self):
        return datetime.datetime.now(tz=datetime.timezone.utc)

    def since_boot_millis(self):
        return time.clock_gettime_ns(time.CLOCK_BOOTTIME) // 1_000_000


class Progress(jieyue.DownloadListener):
    def __init__(self):
        self.last = (0, None)

    def on_progress(self, received, total):
        self.last = (received, total)


def make_client(server, data_dir):
    with urllib.request.urlopen(server + "/.well-known/jieyue/keys") as response:
        keys = response.read().decode()
    config = ClientConfig(
        server_url=server,
        data_dir=data_dir,
        issuer_keys_json=keys,
        device_name="media seek bench",
        rollback_tolerance_seconds=None,
    )
    return jieyue.Client(config, FileStore(os.path.join(data_dir, "secure-store.json")),
                         SystemClock())


def find_title(client, query):
    page = asyncio.run(client.search(query, None, None, 5))
    if not page.items:
        sys.exit(f"no title matches {query!r}")
    return page.items[0]


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def setup(server, data_dir, query):
    client = make_client(server, data_dir)
    asyncio.run(client.login(LIBRARY, CARD, PASSWORD))
    asyncio.run(client.enrol_device())
    title = find_title(client, query)
    asyncio.run(client.borrow(title.id, 7))
    progress = Progress()
    wall, cpu = time.perf_counter(), time.process_time()
    outcome = asyncio.run(client.download(title.id, progress))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if not isinstance(outcome, DownloadOutcome.COMPLETE):
        sys.exit(f"download did not complete: {outcome}")
    print(f"download: {outcome.bytes} bytes in {wall:.2f} s ({outcome.bytes / 1e6 / wall:.0f} MB/s), "
          f"client CPU {cpu:.2f} s, client peak RSS {peak_rss_mib():.1f} MiB")
    print("RESULT " + json.dumps({"step": "download", "bytes": outcome.bytes, "seconds": wall,
                                  "cpu_seconds": cpu, "peak_rss_mib": peak_rss_mib()}))


def stats(samples_ms):
    s = sorted(samples_ms)
    n = len(s)

    def rank(p):  # nearest rank
        return s[max(0, min(n - 1, -(-p * n // 100) - 1))]

    return {"median": (s[(n - 1) // 2] + s[n // 2]) / 2, "p90": rank(90), "p99": rank(99),
            "max": s[-1], "mean": sum(s) / n}


def timed(call, samples):
    """Runs call(i) for each sample; returns wall ms per call and CPU ms per call."""
    times = []
    cpu0 = time.process_time()
    for i in samples:
        t0 = time.perf_counter_ns()
        kept = call(i)
        times.append((time.perf_counter_ns() - t0) / 1e6)
        del kept  # what the call returned is released outside the timing
    cpu_ms = (time.process_time() - cpu0) * 1000 / len(samples)
    return times, cpu_ms


def show(label, times, cpu_ms):
    st = stats(times)
    print(f"  {label:44s} median {st['median']:.3f} ms  p90 {st['p90']:.3f}  p99 {st['p99']:.3f}  "
          f"max {st['max']:.3f}  CPU {cpu_ms:.3f} ms per call")
    return dict(st, cpu_ms=cpu_ms)


def read(server, data_dir, query, plain, rounds, seed):
    client = make_client(server, data_dir)
    title = find_title(client, query)
    t0 = time.perf_counter()
    book = client.open_book(title.id)
    open_book_ms = (time.perf_counter() - t0) * 1000
    items = [item for item in book.reading_order() if item.media_type.startswith("video/")]
    href = items[0].href
    length = items[0].length
    plain_length = os.path.getsize(plain)
    print(f"open_book {open_book_ms:.2f} ms; {href}: {length} bytes ({items[0].media_type}); "
          f"plain copy {plain_length} bytes; peak RSS so far {peak_rss_mib():.1f} MiB")
    # A faststart source is stored byte for byte: the offsets mean the same in both.
    rng = random.Random(seed)
    offsets = [rng.randrange(0, length - SEEK_READ) for _ in range(SAMPLES)]
    # (iii) gets offsets of its own, so that it finds no page (ii) has just read.
    rng = random.Random(seed + 1)
    other_offsets = [rng.randrange(0, length - SEEK_READ) for _ in range(SAMPLES)]
    plain_file = open(plain, "rb", buffering=0)  # unbuffered: one read(2) per read

    for round_ in range(1, rounds + 1):
        print(f"round {round_}:")
        result = {"step": "read", "round": round_, "length": length, "open_book_ms": open_book_ms}
        result["open_media"] = show("(i) open_media", *timed(lambda _: book.open_media(href),
                                                             range(SAMPLES)))

        reader = book.open_media(href)
        reader.read_at(0, 1)  # the first read of a new reader is not a seek

        def seek(i):
            return reader.read_at(offsets[i], SEEK_READ)

        result["read_at"] = show("(ii) read_at(offset, 64 KiB), one reader", *timed(seek, range(SAMPLES)))

        def plain_seek(i):
            plain_file.seek(offsets[i])
            return plain_file.read(SEEK_READ)

        result["plain_read"] = show("    baseline: plain file seek + read 64 KiB",
                                    *timed(plain_seek, range(SAMPLES)))
        if length == plain_length:  # the decrypted bytes are the plain file's (untimed)
            for i in range(0, SAMPLES, 10):
                assert seek(i) == plain_seek(i), f"decrypted bytes differ at {offsets[i]}"

        def open_and_seek(i):
            r = book.open_media(href)
            return r, r.read_at(other_offsets[i], SEEK_READ)

        result["open_and_read"] = show("(iii) open_media + read_at 64 KiB", *timed(open_and_seek, range(SAMPLES)))

        # The floor under every read: 4 KiB from the chunk the reader holds decrypted (no
        # file read, no decryption): the FFI call, the clock callback, the copies.
        reader = book.open_media(href)
        reader.read_at(1 << 20, 1)
        result["cached_read"] = show("    floor: read_at 4 KiB in the cached chunk",
                                     *timed(lambda i: reader.read_at((1 << 20) + 4096 * (i % 15), 4096),
                                            range(SAMPLES)))

        # (iv) sustained: the whole resource in 256 KiB reads, in order.
        reader = book.open_media(href)
        done = 0
        wall, cpu = time.perf_counter(), time.process_time()
        while done < length:
            chunk = reader.read_at(done, SEQUENTIAL_READ)
            if not chunk:
                break
            done += len(chunk)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        assert done == length, (done, length)
        rate = done / 1e6 / wall
        result["sustained"] = {"bytes": done, "seconds": wall, "cpu_seconds": cpu, "mb_s": rate,
                               "x_1080p": rate / 1.0, "cpu_ms_per_read": cpu * 1000 / -(-done // SEQUENTIAL_READ)}
        print(f"  (iv) sustained read_at 256 KiB: {done} bytes in {wall:.2f} s = {rate:.0f} MB/s "
              f"({rate:.0f}× a 1080p stream of 8 Mbit/s = 1 MB/s), CPU {cpu:.2f} s "
              f"({result['sustained']['cpu_ms_per_read']:.3f} ms per read)")
        plain_file.seek(0)
        plain_done = 0
        wall, cpu = time.perf_counter(), time.process_time()
        while True:
            chunk = plain_file.read(SEQUENTIAL_READ)
            if not chunk:
                break
            plain_done += len(chunk)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        result["plain_sustained"] = {"bytes": plain_done, "seconds": wall, "cpu_seconds": cpu,
                                     "mb_s": plain_done / 1e6 / wall}
        print(f"       baseline: plain file read 256 KiB: {plain_done / 1e6 / wall:.0f} MB/s, CPU {cpu:.2f} s")
        result["peak_rss_mib"] = peak_rss_mib()
        print(f"  peak RSS of this process so far: {result['peak_rss_mib']:.1f} MiB")
        print("RESULT " + json.dumps(result))
    plain_file.close()


def main():
    step = sys.argv[1]
    if step == "setup":
        setup(*sys.argv[2:5])
    elif step == "read":
        server, data_dir, query, plain = sys.argv[2:6]
        rounds = int(sys.argv[6]) if len(sys.argv) > 6 else 3
        seed = int(sys.argv[7]) if len(sys.argv) > 7 else 20261130
        read(server, data_dir, query, plain, rounds, seed)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
