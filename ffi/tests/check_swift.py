"""Checks the generated Swift bindings for the API the mobile guide documents.

Swift cannot be compiled on this Linux machine, so the generated sources, headers and
module maps are checked for the names apps call (docs/mobile.md uses the same names).
"""

import pathlib
import sys

swift = pathlib.Path(sys.argv[1])
expected = {
    "jieyue.swift": [
        "open class Client",
        "public convenience init(config: ClientConfig, secureStore: SecureStore, clock: PlatformClock)",
        "func login(libraryCode: String, cardNumber: String, password: String) async throws",
        "func enrolDevice() async throws",
        "func borrow(titleId: String, days: UInt32) async throws",
        "func download(publicationId: String, listener: DownloadListener) async throws",
        "func openBook(publicationId: String) throws",
        "func sync() async throws",
        "open class Book",
        "func resource(href: String) throws",
        "func resourceRange(href: String, start: UInt64, end: UInt64) throws",
        "open class Typesetter",
        "func layoutPages(book: Book, chapter: UInt32, viewport: Viewport, maxPages: UInt32) throws",
        "public protocol Logger",
        "public func setLogger(logger: Logger, maxLevel: LogLevel)",
    ],
    "jieyue_core.swift": [
        "public protocol SecureStore",
        "func put(key: String, value: Data) throws",
        "public protocol PlatformClock",
        "func sinceBootMillis() -> UInt64",
        "public protocol DownloadListener",
        "enum ClientError: Swift.Error",
        "case Expired",
        "case ClockRollback",
        "case DeviceLimit",
        "public struct Locator",
        "public struct Page",
        "func wallMillis()",
        "func get(key: String) throws -> Data?",
        "func delete(key: String) throws",
        "case Failed(",
        "detail: String",
        "public struct Resource",
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
for name in ["jieyueFFI.h", "jieyueFFI.modulemap", "jieyue_coreFFI.h", "jieyue_coreFFI.modulemap"]:
    if not (swift / name).is_file():
        print(f"missing {name}")
        failed = True
if failed:
    sys.exit(1)
print(f"Swift bindings: {sum(map(len, expected.values()))} API names found, headers and module maps present")
