# Reading in the browser: the reading page, search in the book, the loan-ended notice.

reader-read-back = ← My shelf
reader-read-contents = Contents
reader-read-search = Search
reader-read-settings = Reading settings
reader-read-font-size = Text size
reader-read-font-smaller = Smaller text
reader-read-font-larger = Larger text
reader-read-mode = Layout
reader-read-mode-paginated = Pages
reader-read-mode-scrolled = Scroll
reader-read-theme = Theme
reader-read-theme-day = Day
reader-read-theme-sepia = Sepia
reader-read-theme-night = Night
reader-read-zoom = Zoom
reader-read-zoom-in = Zoom in
reader-read-zoom-out = Zoom out
reader-read-frame = Book text: { $chapter }
reader-read-chapters = Chapters
reader-read-prev-chapter = ‹ Previous chapter
reader-read-next-chapter = Next chapter ›
reader-read-prev-page = Previous page
reader-read-next-page = Next page
# %p is the page, %n the pages in the chapter (the page script fills them in).
reader-read-page-of = Page %p of %n
reader-read-search-heading = Search in this book
reader-read-search-label = Words to find
reader-read-search-button = Search
reader-read-search-found = { $count ->
    [one] Found in one place
   *[other] Found in { $count } places
}
reader-read-search-none = “{ $query }” is not in this book.
reader-read-search-limited = Only the first 200 are listed.
reader-read-back-to-book = ← Back to the book
reader-read-ended-title = This loan has ended
reader-read-ended-body = A book whose loan has run out, been returned or been withdrawn by the library can no longer be read. To read on, borrow it again, or place a hold if no copy is free.
reader-read-ended-shelf = Go to my shelf
reader-read-ended-search = Find books

## Audio, video and page images
reader-media-unsupported = This browser cannot play this format.
reader-media-tracks = Tracks
reader-media-videos = Videos
reader-media-prev = ‹ Previous
reader-media-next = Next ›
reader-media-page = Page { $number }
