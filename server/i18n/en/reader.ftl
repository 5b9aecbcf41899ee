## The reader's web app: layout, login, catalogue, title page, shelf.
## (The reading page's words are in reading.ftl, keys reader-read-….)

reader-app-name = Jieyue
reader-menu = Reader menu
reader-menu-search = Find books
reader-menu-shelf = My shelf
reader-login = Log in
reader-logout = Log out
reader-back-to-search = Back to finding books

reader-login-title = Log in with your library card
reader-login-library = Library
reader-login-choose-library = Choose your library
reader-login-card = Card number
reader-login-password = Password
reader-login-submit = Log in
reader-login-hint = Use the card number and password your library gave you. Forgotten your password? Ask your library.
reader-login-wrong = The library, card number or password is wrong.
reader-login-incomplete = Please choose your library and enter your card number and password.
reader-login-locked-out = Too many wrong passwords. Please try again in { $seconds ->
    [one] 1 second
   *[other] { $seconds } seconds
}.

reader-search-title = Find books
reader-search-label = Title, author or subject
reader-search-language = Language
reader-search-subject = Subject
reader-search-library = Library
reader-search-any-library = Any
reader-search-hint = Simplified and traditional Chinese both work: searching 李白 also finds books printed in traditional characters.
reader-search-pick-library = Choose a library to see whether each book can be borrowed there.
reader-browse-count = { $count ->
    [one] 1 book in the catalogue
   *[other] { $count } books in the catalogue
}
reader-found = { $count ->
    [one] 1 book found
   *[other] { $count } books found
}
reader-found-nothing = No books found. Try other words?
reader-pages = Pages
reader-page = Page { $page }
reader-pages-total = of { $pages }

reader-standing-on-loan = On loan to you
reader-standing-ready = Held for you: borrow it now
reader-standing-reserved = You are number { $position } in the queue
reader-standing-not-here = Not at this library
reader-standing-available = { $available } of { $total } available
reader-standing-all-out = All on loan · { $count ->
    [one] 1 hold
   *[other] { $count } holds
}

reader-title-cover = Cover
reader-title-authors = Authors
reader-title-publisher = Publisher
reader-title-published = Published
reader-title-language = Language
reader-title-layout = Layout
reader-title-fixed = Fixed layout (read page by page)
reader-title-lend-heading = Borrowing
reader-title-library = Library
reader-title-copies = Copies
reader-title-holds-label = Holds
reader-title-copies-total = { $count ->
    [one] 1 copy
   *[other] { $count } copies
}
reader-title-copies-available = { $count } available
reader-title-copies-unlimited = No limit: everyone can borrow at once
reader-title-holds = { $count ->
    [one] 1 hold
   *[other] { $count } holds
}
reader-title-pick-library = Choose a library to see whether you can borrow it
reader-title-show-copies = Show
reader-title-login-to-borrow = Log in to borrow
reader-title-on-loan = You have this book on loan: { $days ->
    [one] 1 day
   *[other] { $days } days
} left.
reader-title-due = Due { $date }.
reader-title-ready-until = A copy is held for you: borrow it before { $until }.
reader-title-loan-length = Loan length
reader-title-your-place = You are number { $position } in the queue.
reader-title-wait = Estimated wait: about { $days ->
    [one] 1 day
   *[other] { $days } days
}.
reader-title-manage-hold = Manage your hold on your shelf
reader-title-not-here = Your library has no copy it can lend yet.
reader-title-all-out = Every copy is on loan.
reader-title-hold-place = Place a hold now and you will be number { $position } in the queue.
reader-title-auto-borrow = Borrow it for me automatically when it is my turn
reader-title-description = Description
reader-title-subjects = Subjects
reader-hold-suspended-until = Hold suspended: back in the queue from { $date }.
reader-days = { $count ->
    [one] 1 day
   *[other] { $count } days
}
reader-open-book = Read
reader-borrow = Borrow
reader-place-hold = Place a hold
reader-renew = Renew
reader-return = Return
reader-suspend = Suspend
reader-resume = Resume
reader-cancel-hold = Cancel hold

reader-done-borrowed = Borrowed. You can start reading now.
reader-done-held = Hold placed. We will tell you when it is your turn.
reader-done-renewed = Renewed.
reader-done-returned = Returned.
reader-done-suspended = Hold suspended; you keep your place in the queue.
reader-done-resumed = Hold back in the queue.
reader-done-cancelled = Hold cancelled.
reader-done-device-removed = Device removed.

reader-refused-no-copy-available = Every copy is on loan; you can place a hold.
reader-refused-loan-limit = You have as many loans as your library allows. Please return one first.
reader-refused-already-borrowed = You already have this book on loan.
reader-refused-patron-blocked = Borrowing on your card has been stopped. Please contact your library.
reader-refused-card-expired = Your library card has expired. Please renew it at the library.
reader-refused-renewal-refused = Other readers are waiting for this book, so it cannot be renewed.
reader-refused-renewal-limit = This loan has had every renewal allowed.
reader-refused-hold-limit = You have as many holds as your library allows. Please cancel one first.
reader-refused-device-limit = You have as many devices as allowed. Please remove one first.
reader-refused-loan-ended = This loan has ended.
reader-refused-validation = That loan length is not allowed.
reader-refused-not-found = That book or record could not be found.
reader-refused-forbidden = You cannot do that.
reader-refused-suspend-date = Please choose tomorrow or a later date.
reader-refused-hold-not-waiting = Only a hold still in the queue can be suspended.

reader-shelf-title = My shelf
reader-shelf-loans = On loan
reader-shelf-no-loans = You have no books on loan.
reader-shelf-find-books = Find books
reader-shelf-days-left = { $days ->
    [one] 1 day left.
   *[other] { $days } days left.
}
reader-shelf-no-renewal = Cannot be renewed: { $reason }
reader-shelf-renewals-left = { $count ->
    [one] 1 renewal left.
   *[other] { $count } renewals left.
}
reader-shelf-holds = Holds
reader-shelf-no-holds = You have no holds.
reader-shelf-ready = Ready for you
reader-shelf-suspend-until = Suspend until
reader-shelf-notices = Notifications
reader-shelf-no-notices = No notifications.
reader-shelf-devices = Reading devices
reader-shelf-devices-hint = Phones and tablets where you logged in to a reading app. Loans on a removed device are no longer extended there.
reader-shelf-no-devices = No devices enrolled.
reader-shelf-enrolled = enrolled { $date }
reader-shelf-remove-device = Remove
reader-shelf-remove-device-named = Remove device “{ $name }”

reader-note-title = “{ $title }”
reader-note-a-title = a book
reader-note-hold-ready = Your hold on { $title } is ready: borrow it before { $until }.
reader-note-hold-ready-now = Your hold on { $title } is ready.
reader-note-hold-expired = Your hold on { $title } was not collected in time and went to the next reader.
reader-note-loan-ending = { $title } is due { $date }.
reader-note-loan-ending-soon = { $title } is due soon.
reader-note-loan-revoked = The library ended your loan of { $title }.
reader-note-reason = Reason: { $reason }
reader-note-other = You have a new notification.

reader-return-title = Return a book
reader-return-question = Return “{ $title }” now?
reader-return-hint = After returning it you can no longer read it, and the copy goes to the next reader at once.
reader-return-confirm = Return it
reader-return-keep = Keep it

reader-title-kind = Kind
reader-title-duration = Length
reader-title-items = Pages or tracks
