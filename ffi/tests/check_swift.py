"""Checks the generated Swift bindings for the API the mobile guide documents.

Swift cannot be compiled on this Linux machine, so the generated sources, headers and
module maps are checked for the names apps call (docs/mobile.md uses the same names).
"""

import pathlib
import sys

swift = pathlib.Path(sys.argv[1])
expected = {
    "Jieyue.swift": [
        "open class Client",
        "public convenience init(config: ClientConfig, secureStore: SecureStore, clock: PlatformClock)",
        "func login(libraryCode: String, cardNumber: String, password: String) async throws",
        "func enrolDevice() async throws",
        "func borrow(titleId: String, days: UInt32?) async throws -> Loan",
        "func download(publicationId: String, listener: DownloadListener) async throws",
        "func openBook(publicationId: String) throws",
        "func sync() async throws",
        "func trustedNow() throws -> Date",
        "open class Book",
        "func resource(href: String) throws",
        "func resourceRange(href: String, start: UInt64, end: UInt64) throws",
        "open class Typesetter",
        "func layoutPages(book: Book, chapter: UInt32, viewport: Viewport, maxPages: UInt32) throws",
        "public protocol Logger",
        "public func setLogger(logger: Logger, maxLevel: LogLevel)",
        "public protocol SecureStore",
        "func put(key: String, value: Data) throws",
        "public protocol PlatformClock",
        "func wallTime() -> Date",
        "func sinceBootMillis() -> UInt64",
        "public protocol DownloadListener",
        "func onProgress(received: UInt64, total: UInt64?)",
        "enum ClientError: Swift.Error",
        "case Expired",
        "case Returned",
        "case LicenceRemoved",
        "case ClockRollback",
        "case DeviceLimit",
        "case WrongCredentials",
        "case LockedOut(",
        "case SessionExpired",
        "case Refused(",
        "reason: Refusal",
        "enum Refusal",
        "case noCopyAvailable",
        "enum LoanState",
        "enum HoldState",
        "enum AvailabilityState",
        "enum Layout",
        "enum NotificationKind",
        "public struct Loan",
        "canRenew: Bool",
        "renewalsLeft: UInt32",
        "rights: ReadingRights?",
        "endsAt: Date",
        "public struct Locator",
        "public struct Page",
        "func get(key: String) throws -> Data?",
        "func delete(key: String) throws",
        "case Failed(",
        "detail: String",
        "public struct Resource",
        # Audio, video and page images (docs/mobile.md).
        "func metadata() -> BookMetadata",
        "func readingOrder() -> [ReadingItem]",
        "func pageList() -> [PageInfo]",
        "func openMedia(href: String) throws -> MediaReader",
        "func locatorAtTime(index: UInt32, seconds: Double) throws -> Locator",
        "func indexOfLocator(locator: Locator) throws -> UInt32",
        "func position(publicationId: String) throws -> Locator?",
        "func savePosition(publicationId: String, locator: Locator) throws",
        "func syncPosition(publicationId: String) async throws -> Locator?",
        "open class MediaReader",
        "func length() -> UInt64",
        "func mediaType() -> String",
        "func readAt(offset: UInt64, length: UInt64) throws -> Data",
        "func cancel()",
        "case Cancelled(",
        "enum PublicationKind",
        "case epub",
        "case pageImages",
        "case images",
        "case audiobook",
        "case video",
        "public struct PageInfo",
        "thumbnailHref: String?",
        "kind: PublicationKind",
        "subtitle: String?",
        "duration: Double?",
        "timeOffset: Double?",
    ],
}
failed = False
for name, needles in expected.items():
    # Compare with runs of whitespace collapsed: the generator's spacing varies.
    text = " ".join((swift / name).read_text().split())
    for needle in needles:
        if " ".join(needle.split()) not in text:
            print(f"{name}: missing {needle!r}")
            failed = True
# One module: a single Swift file, header and module map (ffi/uniffi.toml).
if sorted(p.name for p in swift.iterdir()) != ["Jieyue.swift", "JieyueFFI.h", "JieyueFFI.modulemap"]:
    print(f"expected one Swift module, found {sorted(p.name for p in swift.iterdir())}")
    failed = True
for name in ["JieyueFFI.h", "JieyueFFI.modulemap"]:
    if not (swift / name).is_file():
        print(f"missing {name}")
        failed = True
if failed:
    sys.exit(1)
print(f"Swift bindings: {sum(map(len, expected.values()))} API names found, headers and module maps present")
