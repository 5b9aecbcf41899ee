"""The Jieyue client core through its generated Python bindings (the same C ABI the
Kotlin and Swift bindings use), against a real `jieyue demo` server.

Needs JIEYUE_SERVER (the server URL) and the generated bindings with the library on
sys.path (scripts/test-bindings sets both up).
"""

import asyncio
import datetime
import json
import os
import pathlib
import tempfile
import time
import unittest
import urllib.request
import uuid

from jieyue_py import jieyue
from jieyue_py.jieyue import (
    ClientConfig,
    ClientError,
    DownloadOutcome,
    HoldState,
    Layout,
    LoanState,
    PublicationKind,
    Refusal,
    Viewport,
)

SERVER = os.environ["JIEYUE_SERVER"]
PASSWORD = "demo-reader-pass"
FONTS = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
]


class MemoryStore(jieyue.SecureStore):
    """A SecureStore in a dict (apps use Keystore or Keychain)."""

    def __init__(self, fail=False):
        self.values = {}
        self.fail = fail

    def put(self, key, value):
        if self.fail:
            raise jieyue.SecureStoreError.Failed("keystore locked")
        self.values[key] = value

    def get(self, key):
        if self.fail:
            raise jieyue.SecureStoreError.Failed("keystore locked")
        return self.values.get(key)

    def delete(self, key):
        self.values.pop(key, None)


class FakeClock(jieyue.PlatformClock):
    """Wall and monotonic clocks the test moves (milliseconds)."""

    def __init__(self):
        self.wall = int(time.time() * 1000)
        self.boot = 60_000

    def wall_time(self):
        return datetime.datetime.fromtimestamp(self.wall / 1000, tz=datetime.timezone.utc)

    def since_boot_millis(self):
        return self.boot

    def advance(self, ms):
        self.wall += ms
        self.boot += ms


class Progress(jieyue.DownloadListener):
    def __init__(self):
        self.calls = []

    def on_progress(self, received, total):
        self.calls.append((received, total))


class Lines(jieyue.Logger):
    def __init__(self):
        self.lines = []

    def log(self, level, target, message):
        self.lines.append((level, target, message))


def keys():
    with urllib.request.urlopen(SERVER + "/.well-known/jieyue/keys") as response:
        return response.read().decode()


DATA_DIRS = {}


def make_client(store=None, clock=None, url=SERVER):
    data = tempfile.mkdtemp(prefix="jieyue-py-")
    config = ClientConfig(
        server_url=url,
        data_dir=data,
        issuer_keys_json=keys(),
        device_name="Python 测试",
        rollback_tolerance_seconds=None,
    )
    client = jieyue.Client(config, store or MemoryStore(), clock or FakeClock())
    DATA_DIRS[id(client)] = data
    return client


def run(coroutine):
    return asyncio.run(coroutine)


class Flow(unittest.TestCase):
    def test_the_whole_reader_flow(self):
        logger = Lines()
        jieyue.set_logger(logger, jieyue.LogLevel.DEBUG)
        clock = FakeClock()
        client = make_client(clock=clock)
        self.assertFalse(client.is_logged_in())
        libraries = run(client.libraries())
        self.assertIn("city", [library.code for library in libraries])

        with self.assertRaises(ClientError.WrongCredentials):
            run(client.login("city", "C0001", "wrong password"))
        profile = run(client.login("city", "C0001", PASSWORD))
        self.assertEqual(profile.card_number, "C0001")
        self.assertEqual(run(client.me()).display_name, profile.display_name)
        device = run(client.enrol_device())
        self.assertEqual(client.device_id(), device.id)

        page = run(client.search("论语", None, None, 5))
        self.assertEqual(page.items[0].layout, Layout.REFLOWABLE)
        self.assertGreater(page.total, 0)
        title = page.items[0]
        details = run(client.title(title.id))
        self.assertGreater(details.availability.copies_available, 0)
        with self.assertRaises(ClientError.NotFound):
            run(client.title(str(uuid.uuid4())))

        loan = run(client.borrow(title.id, 7))
        self.assertTrue(loan.licensed_here)
        self.assertEqual(loan.state, LoanState.ACTIVE)
        self.assertIsNotNone(loan.rights)
        self.assertGreater(loan.ends_at, loan.started_at)
        self.assertEqual(loan.ends_at - loan.started_at, datetime.timedelta(days=7))
        with self.assertRaises(ClientError.Refused) as refused:
            run(client.borrow(title.id, 7))
        self.assertEqual(refused.exception.reason, Refusal.ALREADY_BORROWED)
        self.assertIn(loan.id, [l.id for l in run(client.loans(False))])

        progress = Progress()
        outcome = run(client.download(title.id, progress))
        self.assertIsInstance(outcome, DownloadOutcome.COMPLETE)
        self.assertEqual(progress.calls[-1][0], outcome.bytes)

        book = client.open_book(title.id)
        self.assertTrue(book.metadata().title)
        self.assertTrue(book.table_of_contents())
        order = book.reading_order()
        chapter = next(i for i, item in enumerate(order) if "html" in item.media_type)
        resource = book.resource(order[chapter].href)
        self.assertIn("html", resource.media_type)
        self.assertIn(b"<html", resource.data)
        self.assertEqual(book.resource_length(order[chapter].href), len(resource.data))
        self.assertEqual(book.resource_range(order[chapter].href, 0, 5), resource.data[:5])
        self.assertEqual(book.media_type(order[chapter].href), resource.media_type)
        self.assertEqual(book.fixed_pages(), [])
        self.assertGreater(book.position_count(), 0)

        fonts = [pathlib.Path(path).read_bytes() for path in FONTS]
        typesetter = jieyue.Typesetter(fonts)
        viewport = Viewport(width=360, height=640, font_size=18, line_height=1.6,
                            margin_top=20, margin_right=18, margin_bottom=20, margin_left=18)
        layout = typesetter.layout_chapter(book, chapter, viewport)
        self.assertTrue(layout.complete)
        first = typesetter.layout_pages(book, chapter, viewport, 1)
        self.assertEqual(first.pages[0], layout.pages[0])
        self.assertTrue(layout.pages[0].runs[0].glyphs)
        png = typesetter.render_page_png(layout.pages[0], viewport, book)
        self.assertEqual(png[:4], b"\x89PNG")
        self.assertEqual(jieyue.page_for_progression(layout, 0.0), 0)
        self.assertEqual(jieyue.progression_of_page(layout, 0), 0.0)

        hits = book.search("子曰", 3)
        self.assertEqual(len(hits), 3)
        self.assertEqual(hits[0].text_highlight, "子曰")
        locator = book.locator_at(chapter, 0.5)
        self.assertEqual(book.index_of_locator(locator), chapter)
        self.assertEqual(book.locator_for_position(locator.position).href, locator.href)
        self.assertEqual(jieyue.locator_from_json(jieyue.locator_to_json(locator)), locator)
        client.save_position(title.id, locator)
        self.assertEqual(client.position(title.id), locator)
        self.assertEqual(run(client.sync_position(title.id)), locator)
        mark = client.add_bookmark(title.id, locator)
        client.add_highlight(title.id, hits[0], "yellow", "好")
        self.assertEqual(len(client.annotations(title.id)), 2)
        self.assertTrue(client.delete_annotation(mark.id))

        report = run(client.sync())
        self.assertEqual(report.checked, 1)
        self.assertGreater(client.trusted_now().year, 2020)

        # Past the loan's end, offline: reading stops and the key is destroyed.
        clock.advance(8 * 86_400_000)
        with self.assertRaises(ClientError.Expired):
            book.resource(order[chapter].href)
        # Opening it again says why it is gone.
        with self.assertRaises(ClientError.Expired):
            client.open_book(title.id)
        self.assertEqual(client.remove_ended(), [])
        returned = run(client.return_loan(loan.id))
        self.assertEqual(returned.state, LoanState.RETURNED)
        self.assertFalse(returned.can_renew)
        with self.assertRaises(ClientError.Refused) as ended:
            run(client.renew(loan.id))
        self.assertEqual(ended.exception.reason, Refusal.LOAN_ENDED)
        self.assertTrue(any("jieyue" in target for _, target, _ in logger.lines), logger.lines[:3])
        run(client.logout())
        self.assertFalse(client.is_logged_in())

    def test_audio_video_and_pages_through_the_media_reader(self):
        demo_media = pathlib.Path(__file__).resolve().parents[3] / "testdata" / "demo-media"
        client = make_client()
        run(client.login("city", "C0001", PASSWORD))
        run(client.enrol_device())

        def borrowed(query, kind):
            page = run(client.search(query, None, None, 5))
            item = next(i for i in page.items if i.kind == kind)
            run(client.borrow(item.id, 7))
            outcome = run(client.download(item.id, Progress()))
            self.assertIsInstance(outcome, DownloadOutcome.COMPLETE)
            return item, client.open_book(item.id)

        # The audiobook: tracks with titles and durations, each read back byte for byte.
        item, book = borrowed("唐诗朗诵", PublicationKind.AUDIOBOOK)
        self.assertEqual(item.items, 3)
        self.assertEqual(book.metadata().kind, PublicationKind.AUDIOBOOK)
        order = book.reading_order()
        self.assertEqual([i.title for i in order], ["静夜思", "春晓", "登鹳雀楼"])
        self.assertAlmostEqual(order[0].duration, 3.0, delta=0.15)
        source = sorted((demo_media / "唐诗朗诵").glob("0*"))
        for track, path in zip(order, source):
            reader = book.open_media(track.href)
            original = path.read_bytes()
            self.assertEqual(reader.length(), len(original))
            self.assertTrue(reader.media_type().startswith("audio/"))
            data = b""
            while True:
                piece = reader.read_at(len(data), 10_000)
                if not piece:
                    break
                data += piece
            self.assertEqual(data, original)
            self.assertEqual(reader.read_at(len(original) - 3, 100), original[-3:])
            reader.cancel()
            with self.assertRaises(ClientError.Cancelled):
                reader.read_at(0, 10)
        locator = book.locator_at_time(1, 1.25)
        self.assertEqual(locator.time_offset, 1.25)
        self.assertIn('"t=1.25"', jieyue.locator_to_json(locator))

        # The lectures: random ranges agree with a whole read.
        item, book = borrowed("国图公开课", PublicationKind.VIDEO)
        for video in book.reading_order():
            reader = book.open_media(video.href)
            self.assertEqual(reader.media_type(), "video/mp4")
            whole = reader.read_at(0, reader.length())
            self.assertEqual(len(whole), reader.length())
            self.assertEqual(whole[4:8], b"ftyp")
            for offset in (0, 1, 65_535, 65_536, 70_000, len(whole) - 1):
                self.assertEqual(reader.read_at(offset, 4096), whole[offset:offset + 4096])

        # The journal: a page list with sizes; every page is the file it came from.
        item, book = borrowed("中国国家地理", PublicationKind.PAGE_IMAGES)
        pages = book.page_list()
        self.assertEqual(len(pages), 6)
        for info in pages:
            self.assertEqual((info.width, info.height), (600, 840))
            original = (demo_media / "中国国家地理-示例" / info.href).read_bytes()
            self.assertEqual(book.resource(info.href).data, original)

    def test_holds_and_notifications(self):
        client = make_client()
        run(client.login("chunan", "CA0001", PASSWORD))
        run(client.enrol_device())
        title = run(client.search("大学", None, None, 1)).items[0]
        # Other readers take every copy, so the hold waits.
        borrowers = []
        for library, card in [("city", "C0001"), ("city", "C0002"), ("tonglu", "T0001")]:
            reader = make_client()
            run(reader.login(library, card, PASSWORD))
            run(reader.enrol_device())
            borrowers.append((reader, run(reader.borrow(title.id, None))))
        self.assertEqual(run(client.title(title.id)).availability.copies_available, 0)
        with self.assertRaises(ClientError.Refused) as none_free:
            run(client.borrow(title.id, None))
        self.assertEqual(none_free.exception.reason, Refusal.NO_COPY_AVAILABLE)
        hold = run(client.place_hold(title.id, False))
        self.assertEqual((hold.state, hold.position), (HoldState.WAITING, 1))
        until = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
        suspended = run(client.suspend_hold(hold.id, until))
        self.assertIsNotNone(suspended.suspended_until)
        self.assertEqual([h.id for h in run(client.holds())], [hold.id])
        run(client.cancel_hold(hold.id))
        self.assertEqual(run(client.holds()), [])
        for reader, loan in borrowers:
            run(reader.return_loan(loan.id))
        self.assertEqual(run(client.notifications(None)).items, [])
        # A loan made on another device is licensed here on request.
        tablet = make_client()
        run(tablet.login("chunan", "CA0001", PASSWORD))
        run(tablet.enrol_device())
        loan = run(tablet.borrow(title.id, None))
        with self.assertRaises(ClientError.NotFound):
            client.open_book(title.id)
        self.assertTrue(run(client.fetch_licence(loan.id)).licensed_here)
        client.pause_download(title.id)
        client.delete_download(title.id)
        run(tablet.return_loan(loan.id))

    def test_errors_an_app_acts_on(self):
        with self.assertRaises(ClientError.Other):
            make_client(url="ftp://example.invalid")
        offline = make_client(url="http://127.0.0.1:9")
        with self.assertRaises(ClientError.Network):
            run(offline.libraries())
        with self.assertRaises(ClientError.Storage):
            make_client(store=MemoryStore(fail=True))
        # A clock turned back a day after a licence anchored trusted time.
        clock = FakeClock()
        client = make_client(clock=clock)
        run(client.login("tonglu", "T0001", PASSWORD))
        run(client.enrol_device())
        clock.wall -= 86_400_000
        with self.assertRaises(ClientError.ClockRollback):
            client.trusted_now()
        clock.wall += 86_400_000  # set right again; the next signed server time clears it
        # A damaged package: cut in half on disk.
        title = run(client.search("中庸", None, None, 1)).items[0]
        run(client.borrow(title.id, None))
        run(client.download(title.id, Progress()))
        path = os.path.join(DATA_DIRS[id(client)], "packages", f"{title.id}.epub")
        size = os.path.getsize(path)
        with open(path, "r+b") as f:
            f.truncate(size // 2)
        with self.assertRaises(ClientError.CorruptPackage):
            client.open_book(title.id)
        # Enrolling more devices than the library allows.
        with self.assertRaises(ClientError.DeviceLimit):
            for _ in range(10):
                phone = make_client()
                run(phone.login("chunan", "CA0002", PASSWORD))
                run(phone.enrol_device())


if __name__ == "__main__":
    unittest.main()
