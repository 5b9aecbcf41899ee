//! The objects and functions of the mobile API (UniFFI), built with the `uniffi`
//! feature: thin wrappers that take owned, foreign-friendly arguments and forward to
//! the core. No logic lives here. The records, enums and errors they use are the
//! core's own, derived behind the same feature.
//!
//! They live in this crate, not in `jieyue-ffi`, so that the whole API is one UniFFI
//! component: one Kotlin package and one Swift module. (UniFFI makes one component per
//! crate, and two components cannot share a Kotlin package: each file declares the
//! same runtime helpers.) `jieyue-ffi` is the library artefact that links it.

use std::sync::Arc;
use std::time::SystemTime;

use crate as core;
use crate::{
    Annotation, BookMetadata, ChapterLayout, ClientConfig, ClientError, Device, DownloadListener,
    DownloadOutcome, FixedPage, Hold, Loan, Locator, MemberLibrary, NotificationPage, Page,
    PageInfo, PlatformClock, Profile, ReadingItem, Resource, SearchPage, SecureStore, SyncReport,
    TitleDetails, TocEntry, Viewport,
};

type Result<T> = std::result::Result<T, ClientError>;

/// The reader's engine: account, catalogue, lending, downloads, sync. Make one per app.
#[derive(uniffi::Object)]
pub struct Client {
    inner: Arc<core::Client>,
}

#[uniffi::export(async_runtime = "tokio")]
impl Client {
    /// Opens (or creates) the client's state in `config.data_dir`. `secure_store` keeps
    /// the device key and session in Keystore/Keychain; `clock` gives wall and
    /// monotonic time.
    #[uniffi::constructor]
    pub fn new(
        config: ClientConfig,
        secure_store: Arc<dyn SecureStore>,
        clock: Arc<dyn PlatformClock>,
    ) -> Result<Arc<Self>> {
        Ok(Arc::new(Self {
            inner: Arc::new(core::Client::new(config, secure_store, clock)?),
        }))
    }

    /// Whether a session is held.
    pub fn is_logged_in(&self) -> bool {
        self.inner.is_logged_in()
    }

    /// This installation's device id, once enrolled.
    pub fn device_id(&self) -> Option<String> {
        self.inner.device_id()
    }

    /// The consortium's libraries.
    pub async fn libraries(&self) -> Result<Vec<MemberLibrary>> {
        self.inner.libraries().await
    }

    /// Logs in with a library card.
    pub async fn login(
        &self,
        library_code: String,
        card_number: String,
        password: String,
    ) -> Result<Profile> {
        self.inner
            .login(&library_code, &card_number, &password)
            .await
    }

    /// Logs out (books already downloaded stay readable until their loans end).
    pub async fn logout(&self) -> Result<()> {
        self.inner.logout().await
    }

    /// The reader's profile.
    pub async fn me(&self) -> Result<Profile> {
        self.inner.me().await
    }

    /// Enrols this device; its key goes to the secure store.
    pub async fn enrol_device(&self) -> Result<Device> {
        self.inner.enrol_device().await
    }

    /// Searches the catalogue.
    pub async fn search(
        &self,
        query: String,
        language: Option<String>,
        cursor: Option<String>,
        limit: Option<u32>,
    ) -> Result<SearchPage> {
        self.inner.search(&query, language, cursor, limit).await
    }

    /// A title's details with availability.
    pub async fn title(&self, title_id: String) -> Result<TitleDetails> {
        self.inner.title(&title_id).await
    }

    /// Borrows a title for `days` (`None`: the library's default) and licenses this
    /// device in the same request.
    pub async fn borrow(&self, title_id: String, days: Option<u32>) -> Result<Loan> {
        self.inner.borrow(&title_id, days).await
    }

    /// The reader's loans.
    pub async fn loans(&self, include_ended: bool) -> Result<Vec<Loan>> {
        self.inner.loans(include_ended).await
    }

    /// Licenses this device for a loan made elsewhere.
    pub async fn fetch_licence(&self, loan_id: String) -> Result<Loan> {
        self.inner.fetch_licence(&loan_id).await
    }

    /// Renews a loan.
    pub async fn renew(&self, loan_id: String) -> Result<Loan> {
        self.inner.renew(&loan_id).await
    }

    /// Returns a loan; its key and package leave the device.
    pub async fn return_loan(&self, loan_id: String) -> Result<Loan> {
        self.inner.return_loan(&loan_id).await
    }

    /// The reader's holds.
    pub async fn holds(&self) -> Result<Vec<Hold>> {
        self.inner.holds().await
    }

    /// Places a hold.
    pub async fn place_hold(&self, title_id: String, auto_borrow: bool) -> Result<Hold> {
        self.inner.place_hold(&title_id, auto_borrow).await
    }

    /// Cancels a hold.
    pub async fn cancel_hold(&self, hold_id: String) -> Result<()> {
        self.inner.cancel_hold(&hold_id).await
    }

    /// Suspends a hold until `until`, or resumes it with `None`.
    pub async fn suspend_hold(&self, hold_id: String, until: Option<SystemTime>) -> Result<Hold> {
        self.inner.suspend_hold(&hold_id, until).await
    }

    /// Notifications after `after`.
    pub async fn notifications(&self, after: Option<String>) -> Result<NotificationPage> {
        self.inner.notifications(after).await
    }

    /// Checks every licence with the server, re-anchors trusted time, sends positions.
    pub async fn sync(&self) -> Result<SyncReport> {
        self.inner.sync().await
    }

    /// Downloads (or resumes) a book's package.
    pub async fn download(
        &self,
        publication_id: String,
        listener: Arc<dyn DownloadListener>,
    ) -> Result<DownloadOutcome> {
        self.inner.download(&publication_id, listener).await
    }

    /// Pauses a running download.
    pub fn pause_download(&self, publication_id: String) -> Result<()> {
        self.inner.pause_download(&publication_id)
    }

    /// Deletes a downloaded package.
    pub fn delete_download(&self, publication_id: String) -> Result<()> {
        self.inner.delete_download(&publication_id)
    }

    /// Deletes the keys and packages of loans that have ended by trusted time.
    pub fn remove_ended(&self) -> Result<Vec<String>> {
        self.inner.remove_ended()
    }

    /// Trusted time now.
    pub fn trusted_now(&self) -> Result<SystemTime> {
        self.inner.trusted_now()
    }

    /// Opens a downloaded book (offline).
    pub fn open_book(&self, publication_id: String) -> Result<Arc<Book>> {
        Ok(Arc::new(Book {
            inner: self.inner.open_book(&publication_id)?,
        }))
    }

    /// Saves the reading position locally.
    pub fn save_position(&self, publication_id: String, locator: Locator) -> Result<()> {
        self.inner.save_position(&publication_id, &locator)
    }

    /// The position saved on this device.
    pub fn position(&self, publication_id: String) -> Result<Option<Locator>> {
        self.inner.position(&publication_id)
    }

    /// Sends this device's position or takes the one saved on another device.
    pub async fn sync_position(&self, publication_id: String) -> Result<Option<Locator>> {
        self.inner.sync_position(&publication_id).await
    }

    /// Adds a bookmark.
    pub fn add_bookmark(&self, publication_id: String, locator: Locator) -> Result<Annotation> {
        self.inner.add_bookmark(&publication_id, &locator)
    }

    /// Adds a highlight.
    pub fn add_highlight(
        &self,
        publication_id: String,
        locator: Locator,
        color: Option<String>,
        note: Option<String>,
    ) -> Result<Annotation> {
        self.inner
            .add_highlight(&publication_id, &locator, color, note)
    }

    /// Bookmarks and highlights of a book.
    pub fn annotations(&self, publication_id: String) -> Result<Vec<Annotation>> {
        self.inner.annotations(&publication_id)
    }

    /// Deletes a bookmark or highlight.
    pub fn delete_annotation(&self, annotation_id: String) -> Result<bool> {
        self.inner.delete_annotation(&annotation_id)
    }
}

/// An open book. Every read checks the loan against trusted time.
#[derive(uniffi::Object)]
pub struct Book {
    inner: core::Book,
}

#[uniffi::export]
impl Book {
    /// Metadata.
    pub fn metadata(&self) -> BookMetadata {
        self.inner.metadata()
    }

    /// Table of contents.
    pub fn table_of_contents(&self) -> Vec<TocEntry> {
        self.inner.table_of_contents()
    }

    /// Reading order.
    pub fn reading_order(&self) -> Vec<ReadingItem> {
        self.inner.reading_order()
    }

    /// Positions in the book.
    pub fn position_count(&self) -> u32 {
        self.inner.position_count()
    }

    /// Media type of a resource.
    pub fn media_type(&self, href: String) -> String {
        self.inner.media_type(&href)
    }

    /// A decrypted resource (for a WebView's request interceptor).
    pub fn resource(&self, href: String) -> Result<Resource> {
        self.inner.resource(&href)
    }

    /// Bytes `start..end` of a resource (audio, video).
    pub fn resource_range(&self, href: String, start: u64, end: u64) -> Result<Vec<u8>> {
        self.inner.resource_range(&href, start, end)
    }

    /// A resource's decrypted length.
    pub fn resource_length(&self, href: String) -> Result<u64> {
        self.inner.resource_length(&href)
    }

    /// Pages of a fixed-layout book.
    pub fn fixed_pages(&self) -> Result<Vec<FixedPage>> {
        self.inner.fixed_pages()
    }

    /// Pages of a page-image publication or an image collection, with sizes, captions
    /// and thumbnails (empty for EPUB, audio and video).
    pub fn page_list(&self) -> Vec<PageInfo> {
        self.inner.page_list()
    }

    /// Opens a track or video for a player: a [`MediaReader`] that decrypts only what
    /// is read. Checks the licence and trusted time.
    pub fn open_media(&self, href: String) -> Result<Arc<MediaReader>> {
        Ok(Arc::new(MediaReader {
            inner: self.inner.open_media(&href)?,
        }))
    }

    /// The locator `seconds` into track or video `index`.
    pub fn locator_at_time(&self, index: u32, seconds: f64) -> Result<Locator> {
        self.inner.locator_at_time(index, seconds)
    }

    /// The locator at `progression` through reading-order document `index`.
    pub fn locator_at(&self, index: u32, progression: f64) -> Result<Locator> {
        self.inner.locator_at(index, progression)
    }

    /// The locator of a position.
    pub fn locator_for_position(&self, position: u32) -> Result<Locator> {
        self.inner.locator_for_position(position)
    }

    /// The reading-order index a locator points into.
    pub fn index_of_locator(&self, locator: Locator) -> Result<u32> {
        self.inner.index_of_locator(&locator)
    }

    /// Searches the book.
    pub fn search(&self, query: String, limit: u32) -> Result<Vec<Locator>> {
        self.inner.search(&query, limit)
    }
}

/// One decrypted track or video for a player's data source (Media3 `DataSource`,
/// `AVAssetResourceLoaderDelegate`): its length and type without decrypting, then reads
/// at any offset that decrypt only the chunks they cover. Nothing touches the disk.
#[derive(uniffi::Object)]
pub struct MediaReader {
    inner: core::MediaReader,
}

#[uniffi::export]
impl MediaReader {
    /// The resource's path in the package.
    pub fn href(&self) -> String {
        self.inner.href()
    }

    /// Decrypted length in bytes.
    pub fn length(&self) -> u64 {
        self.inner.length()
    }

    /// Media type (`audio/mpeg`, `video/mp4`, …).
    pub fn media_type(&self) -> String {
        self.inner.media_type()
    }

    /// Up to `length` bytes at `offset` (fewer at the end, none past it).
    pub fn read_at(&self, offset: u64, length: u64) -> Result<Vec<u8>> {
        self.inner.read_at(offset, length)
    }

    /// Stops a read under way and fails every later one with `Cancelled`.
    pub fn cancel(&self) {
        self.inner.cancel()
    }
}

/// Page layout with the app's fonts.
#[derive(uniffi::Object)]
pub struct Typesetter {
    inner: core::Typesetter,
}

#[uniffi::export]
impl Typesetter {
    /// A typesetter with the app's font files (the first is the body font).
    #[uniffi::constructor]
    pub fn new(fonts: Vec<Vec<u8>>) -> Result<Arc<Self>> {
        Ok(Arc::new(Self {
            inner: core::Typesetter::new(fonts)?,
        }))
    }

    /// Lays out a chapter.
    pub fn layout_chapter(
        &self,
        book: Arc<Book>,
        chapter: u32,
        viewport: Viewport,
    ) -> Result<ChapterLayout> {
        self.inner.layout_chapter(&book.inner, chapter, viewport)
    }

    /// Lays out at most `max_pages` pages of a chapter (a quick first page).
    pub fn layout_pages(
        &self,
        book: Arc<Book>,
        chapter: u32,
        viewport: Viewport,
        max_pages: u32,
    ) -> Result<ChapterLayout> {
        self.inner
            .layout_pages(&book.inner, chapter, viewport, max_pages)
    }

    /// Renders a page to PNG (previews).
    pub fn render_page_png(
        &self,
        page: Page,
        viewport: Viewport,
        book: Option<Arc<Book>>,
    ) -> Result<Vec<u8>> {
        self.inner
            .render_page_png(&page, viewport, book.as_ref().map(|b| &b.inner))
    }
}

/// The page of `layout` showing `progression` of its chapter (after a re-layout).
#[uniffi::export]
pub fn page_for_progression(layout: ChapterLayout, progression: f64) -> u32 {
    layout.page_for_progression(progression)
}

/// The progression at the start of page `index` of `layout`.
#[uniffi::export]
pub fn progression_of_page(layout: ChapterLayout, index: u32) -> f64 {
    layout.progression_of_page(index)
}

/// A locator as Readium JSON.
#[uniffi::export]
pub fn locator_to_json(locator: Locator) -> String {
    locator.to_json()
}

/// A locator from Readium JSON.
#[uniffi::export]
pub fn locator_from_json(json: String) -> Result<Locator> {
    Locator::from_json(&json)
}

mod logging;
pub use logging::{LogLevel, Logger, set_logger};
