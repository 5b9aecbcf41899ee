## The catalogue: search, a title's page, edits, covers, hiding, EPUB uploads.

catalogue-title = Catalogue
catalogue-back = Back to the catalogue
catalogue-back-to = Back to “{ $title }”
catalogue-search-label = Search
catalogue-search-hint = Searches titles, authors, subjects, publishers and descriptions; simplified and traditional Chinese match each other, and case does not matter.
catalogue-language = Language
catalogue-found = { $count ->
    [one] 1 title found
   *[other] { $count } titles found
}
catalogue-results-caption = Search results
catalogue-cover = Cover
catalogue-authors = Authors
catalogue-pages = Pages
catalogue-page = Page { $page }
catalogue-pages-total = of { $pages }
catalogue-hidden-badge = Hidden
catalogue-hidden-heading = Titles hidden from readers
catalogue-hidden-hint = These titles do not appear in readers' searches or in OPDS, and the search above does not find them.
catalogue-upload-link = Upload EPUBs

catalogue-metadata = Details
catalogue-publisher = Publisher
catalogue-published = Published
catalogue-identifiers = Identifiers
catalogue-layout = Layout
catalogue-layout-fixed = Fixed layout
catalogue-layout-reflowable = Reflowable
catalogue-readers-see = Readers see it
catalogue-hidden-explained = This title is hidden from readers: it is not in searches or OPDS, and readers cannot borrow it, place holds on it or download it.
catalogue-cover-of = Cover of “{ $title }”
catalogue-cover-hidden = The cover is not shown while the title is hidden.
catalogue-no-cover = No cover.
catalogue-cover-replace = Replace the cover image
catalogue-cover-hint = A JPEG, PNG, GIF or WebP image; a thumbnail is made from it.
catalogue-cover-submit = Upload cover
catalogue-edit-link = Edit details
catalogue-suppress = Hide from readers
catalogue-suppress-hint = Readers will not find it, borrow it or place holds on it; you can show it again at any time.
catalogue-unsuppress = Show to readers again
catalogue-availability = Availability by library
catalogue-availability-caption = Copies each library can lend now, and holds waiting
catalogue-library = Library
catalogue-copies-free = Free now
catalogue-copies-total = Copies it can lend
catalogue-holds-waiting = Holds waiting
catalogue-no-libraries = No library to show.
catalogue-lots = Licence lots
catalogue-lots-caption = Licence lots of this title
catalogue-no-lots = No copies have been bought yet.
catalogue-copies-link = Manage copies (buy, top up, suspend, retire)
catalogue-versions = Versions
catalogue-version-now = Current version
catalogue-first-catalogued = First catalogued
catalogue-last-changed = Last changed
catalogue-file-size = EPUB file size
catalogue-package-size = Encrypted package size
catalogue-package-sha = Package SHA-256
catalogue-versions-caption = Versions uploaded
catalogue-version = Version
catalogue-catalogued-at = Catalogued
catalogue-versions-hint = A new file of the same book (the same EPUB identifier) becomes its new version: readers' licences open it too, and the old version's files are not kept.

catalogue-done-saved = The details have been saved.
catalogue-done-cover = The cover has been replaced.
catalogue-done-suppressed = The title is now hidden from readers.
catalogue-done-unsuppressed = Readers can see the title again.

catalogue-edit-title = Edit details
catalogue-field-title = Title
catalogue-field-subjects = Subjects
catalogue-field-description = Description
catalogue-subjects-hint = One subject per line.
catalogue-description-hint = Leave empty to remove the description.
catalogue-edit-hint = Authors, publisher, language and identifiers come from the EPUB file; to correct them, upload a corrected file as a new version.

catalogue-upload-title = Upload EPUBs
catalogue-upload-intro = You may choose several EPUB files at once. Each is checked, encrypted and catalogued; a new file of a book already catalogued becomes its new version.
catalogue-upload-files = EPUB files
catalogue-upload-hint = At most { $megabytes } MB per upload in all. Books already protected (LCP, Adobe) cannot be catalogued: upload the unprotected EPUB.
catalogue-upload-progress = Upload progress
catalogue-upload-submit = Upload and catalogue
catalogue-upload-results = Upload results
catalogue-upload-none = No file was chosen.
catalogue-upload-created = Catalogued:
catalogue-upload-updated = Catalogued as a new version:
catalogue-upload-unchanged = Already catalogued, nothing changed:
catalogue-upload-refused = Not catalogued:
catalogue-upload-invalid = This is not an EPUB file that can be catalogued.
catalogue-items = { $count } items
