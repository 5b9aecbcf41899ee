// The Jieyue client core from Kotlin on the JVM, through the generated UniFFI bindings,
// against a real `jieyue demo` server (JIEYUE_SERVER). This is the code path an Android
// app takes, minus the Android-specific SecureStore and clock implementations.

import java.io.File
import java.net.URI
import java.nio.file.Files
import java.time.Duration
import java.time.Instant
import java.util.concurrent.CopyOnWriteArrayList
import kotlinx.coroutines.runBlocking
import kotlin.test.Test
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue
// One package holds the whole API (ffi/uniffi.toml).
import uniffi.jieyue.Client
import uniffi.jieyue.ClientConfig
import uniffi.jieyue.ClientException
import uniffi.jieyue.DownloadListener
import uniffi.jieyue.DownloadOutcome
import uniffi.jieyue.Layout
import uniffi.jieyue.LoanState
import uniffi.jieyue.LogLevel
import uniffi.jieyue.Logger
import uniffi.jieyue.PlatformClock
import uniffi.jieyue.Refusal
import uniffi.jieyue.SecureStore
import uniffi.jieyue.Typesetter
import uniffi.jieyue.Viewport
import uniffi.jieyue.locatorFromJson
import uniffi.jieyue.locatorToJson
import uniffi.jieyue.setLogger

val server: String = System.getenv("JIEYUE_SERVER") ?: error("JIEYUE_SERVER is not set")
const val PASSWORD = "demo-reader-pass"

/** A SecureStore in memory; an app backs this with the Android Keystore. */
class MemoryStore : SecureStore {
    private val values = java.util.concurrent.ConcurrentHashMap<String, ByteArray>()
    override fun put(key: String, value: ByteArray) { values[key] = value }
    override fun get(key: String): ByteArray? = values[key]
    override fun delete(key: String) { values.remove(key) }
}

/** Wall and monotonic clocks the test moves. */
class FakeClock : PlatformClock {
    @Volatile var wall: Long = System.currentTimeMillis()
    @Volatile var boot: Long = 60_000
    override fun wallTime(): Instant = Instant.ofEpochMilli(wall)
    override fun sinceBootMillis(): ULong = boot.toULong()
    fun advance(ms: Long) { wall += ms; boot += ms }
}

class Progress : DownloadListener {
    val calls = CopyOnWriteArrayList<Pair<ULong, ULong?>>()
    override fun onProgress(received: ULong, total: ULong?) { calls.add(received to total) }
}

class Lines : Logger {
    val lines = CopyOnWriteArrayList<String>()
    override fun log(level: LogLevel, target: String, message: String) { lines.add("$level $target $message") }
}

fun keys(): String = URI("$server/.well-known/jieyue/keys").toURL().readText()

fun newClient(clock: FakeClock = FakeClock(), dir: File = Files.createTempDirectory("jieyue-kt").toFile()) =
    Client(
        ClientConfig(
            serverUrl = server,
            dataDir = dir.path,
            issuerKeysJson = keys(),
            deviceName = "Kotlin 测试机",
            rollbackToleranceSeconds = null,
        ),
        MemoryStore(),
        clock,
    )

class BindingsTest {
    @Test
    fun `borrow download read lay out expire and return`() = runBlocking {
        val logs = Lines()
        setLogger(logs, LogLevel.INFO)
        val clock = FakeClock()
        val dir = Files.createTempDirectory("jieyue-kt").toFile()
        val client = newClient(clock, dir)

        assertFailsWith<ClientException.WrongCredentials> { client.login("city", "C0001", "wrong password") }
        val profile = client.login("tonglu", "T0001", PASSWORD)
        assertEquals("T0001", profile.cardNumber)
        val device = client.enrolDevice()
        assertEquals(device.id, client.deviceId())

        val title = client.search("孟子", null, null, 5u).items.first()
        assertEquals(Layout.REFLOWABLE, title.layout)
        assertTrue(client.title(title.id).availability!!.copiesAvailable > 0u)
        val loan = client.borrow(title.id, 7u)
        assertTrue(loan.licensedHere)
        assertEquals(LoanState.ACTIVE, loan.state)
        assertEquals(Duration.ofDays(7), Duration.between(loan.startedAt, loan.endsAt))
        assertTrue(loan.rights != null)
        val again = assertFailsWith<ClientException.Refused> { client.borrow(title.id, 7u) }
        assertEquals(Refusal.ALREADY_BORROWED, again.reason)

        val progress = Progress()
        val outcome = client.download(title.id, progress)
        assertTrue(outcome is DownloadOutcome.Complete)
        assertEquals((outcome as DownloadOutcome.Complete).bytes, progress.calls.last().first)
        assertTrue(progress.calls.zipWithNext().all { (a, b) -> a.first <= b.first })

        val book = client.openBook(title.id)
        assertTrue(book.metadata().title.isNotEmpty())
        assertTrue(book.tableOfContents().isNotEmpty())
        val order = book.readingOrder()
        val chapter = order.indexOfFirst { it.mediaType.contains("html") }
        val resource = book.resource(order[chapter].href)
        assertTrue(String(resource.data, Charsets.UTF_8).contains("<html"))

        val fonts = listOf(
            File("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf").readBytes(),
            File("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc").readBytes(),
        )
        val typesetter = Typesetter(fonts)
        val viewport = Viewport(360f, 640f, 18f, 1.6f, 20f, 18f, 20f, 18f)
        val layout = typesetter.layoutPages(book, chapter.toUInt(), viewport, 1u)
        val page = layout.pages.single()
        assertTrue(page.runs.isNotEmpty() && page.runs[0].glyphs.isNotEmpty())
        val png = typesetter.renderPagePng(page, viewport, book)
        assertEquals(0x89.toByte(), png[0])

        val locator = book.locatorAt(chapter.toUInt(), 0.25)
        assertEquals(locator, locatorFromJson(locatorToJson(locator)))
        assertTrue(book.search("孟子", 1u).isNotEmpty())
        client.savePosition(title.id, locator)
        assertEquals(locator, client.position(title.id))

        // Offline, past the loan's end: the book refuses and its key is destroyed.
        clock.advance(8L * 86_400_000)
        assertFailsWith<ClientException.Expired> { book.resource(order[chapter].href) }
        assertFailsWith<ClientException.Expired> { client.openBook(title.id) }
        assertTrue(!File(dir, "packages/${title.id}.epub").exists())

        val returned = client.returnLoan(loan.id)
        assertEquals(LoanState.RETURNED, returned.state)
        val ended = assertFailsWith<ClientException.Refused> { client.renew(loan.id) }
        assertEquals(Refusal.LOAN_ENDED, ended.reason)
        assertTrue(ended.detail.isNotEmpty())
        assertTrue(logs.lines.any { it.contains("borrowed") }, logs.lines.toString())
        client.logout()
        assertTrue(!client.isLoggedIn())
        book.close()
        typesetter.close()
        client.close()
    }

    @Test
    fun `a clock turned back is a rollback until the next signed time`() = runBlocking {
        val clock = FakeClock()
        val client = newClient(clock)
        client.login("city", "C0002", PASSWORD)
        client.enrolDevice()
        clock.wall -= 86_400_000
        assertFailsWith<ClientException.ClockRollback> { client.trustedNow() }
        clock.wall += 86_400_000
        val title = client.search("诗经", null, null, 1u).items.first()
        val loan = client.borrow(title.id, null)
        assertTrue(client.trustedNow().isAfter(Instant.parse("2020-01-01T00:00:00Z")))
        assertEquals(1u, client.sync().checked)
        client.returnLoan(loan.id)
        client.close()
    }
}
