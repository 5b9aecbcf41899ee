## Every page: layout, home page, error pages, problem types.

site-name = Jieyue 借阅
skip-to-content = Skip to content
nav-tools = Tools
common-copies = { $count ->
    [one] { $count } copy
   *[other] { $count } copies
}
common-yes = Yes
common-no = No
common-save = Save
common-cancel = Cancel
common-search = Search
common-none = None
common-all = All
common-actions = Actions
common-download-csv = Download CSV
common-previous = Previous
common-next = Next

home-title = Jieyue e-book lending server
home-intro = This server lends e-books for a consortium of public libraries. Each book is encrypted once; a loan gives the reader a signed licence bound to their device, and the reading app enforces the loan period even offline. Readers borrow and read in their library's app; librarians manage the collection, copies and loans in the console.
home-console-link = Librarians' console
home-console-cta = Open the librarians' console
home-reader-cta = Readers: find, borrow and read books
home-libraries = Member libraries
home-no-libraries = No library has been set up yet.
home-for-apps = For apps and developers
home-opds = OPDS 2.0 catalogue
home-openapi = HTTP API (OpenAPI 3.1)
home-health = Health
home-guides = Guides

error-status = Status { $status }
error-fields = These fields need correcting:
error-back = Go back to:
error-console = the console
error-home = the home page

page-cross-site = The request came from another site or the page has expired, so it was refused. Reload the page and try again.
page-bad-form = The form could not be read. Please go back and fill it in again.

problem-malformed-request = The request is malformed.
problem-validation = Some of what was entered is not valid.
problem-payload-too-large = The uploaded file is too large.
problem-unauthenticated = Please log in first.
problem-invalid-credentials = The user name or password is wrong.
problem-too-many-attempts = Too many wrong passwords; please wait a moment and try again.
problem-forbidden = You are not allowed to do that.
problem-not-found = Not found, or not within your library's scope.
problem-conflict = That conflicts with existing data.
problem-no-copy-available = Every copy is on loan.
problem-loan-limit = The reader has as many loans as allowed.
problem-already-borrowed = The reader already has this title on loan.
problem-patron-blocked = This reader is blocked from borrowing.
problem-card-expired = The reader's card has expired.
problem-renewal-refused = Others are waiting, so the loan cannot be renewed.
problem-renewal-limit = The loan has had every renewal allowed.
problem-hold-limit = The reader has as many holds as allowed.
problem-device-limit = The reader has as many devices as allowed.
problem-loan-ended = The loan has ended.
problem-already-protected = The file is already encrypted and cannot be catalogued again.
problem-insufficient-storage = The server is out of storage space.
problem-unavailable = Storage is unavailable for now; please try again later.
problem-internal = The server failed; the error has been logged.

## Kinds of publication
kind-epub = E-book
kind-page-images = Journal (page images)
kind-images = Image collection
kind-audiobook = Audiobook
kind-video = Video
