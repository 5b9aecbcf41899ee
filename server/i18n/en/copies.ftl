## Copies: buying, topping up, suspending, resuming, retiring and sharing licence lots, and each library's draw order.

copies-title = Copies
copies-heading = Copies of “{ $title }”
copies-lots = Licence lots
copies-lots-caption = Licence lots of this title (those your library can see)
copies-no-lots = No copies have been bought yet.
copies-owner = Owner
copies-pool = Consortium shared pool
copies-copies = Copies
copies-out = Out
copies-checkouts-left = Checkouts left
copies-unlimited = Unlimited
copies-expires = Expires
copies-no-expiry = Never
copies-expired = Expired
copies-used-up = Used up
copies-shared-with = Shared with
copies-not-shared = Not shared
copies-state = State
copies-status-active = Active
copies-status-suspended = Suspended
copies-status-retired = Retired

copies-manage-lot = Manage lot: { $owner }
copies-add-copies = Copies to add
copies-top-up = Top up
copies-suspend = Suspend lending
copies-resume = Resume lending
copies-retire = Retire
copies-retire-hint = A retired lot lends no more; loans out run to their end.
copies-retired-hint = This lot is retired and lends no more.
copies-save-shares = Save sharing

copies-buy = Buy copies
copies-owner-hint = Managers buy for their own library; consortium admins for any library or the consortium's shared pool.
copies-checkout-limit = Checkout limit
copies-checkout-limit-hint = For a metered licence, the total number of checkouts; leave empty for no limit.
copies-expires-hint = The licence's last day; leave empty for a perpetual licence.
copies-share-hint = The libraries ticked may lend this lot too. A shared-pool lot with no library ticked is open to every library.
copies-buy-submit = Buy

copies-draw-heading = What each library lends from
copies-draw-hint = A loan takes a copy from the lots the reader's library may lend from, in this order: its own lots, then the consortium's shared pool, then other libraries' lots shared with it; within each, the lot expiring first, then the oldest.
copies-draw-caption = Lots each library can lend from now, in draw order
copies-draw-order = Draw order
copies-draw-none = No lot can lend now.
copies-free-of = { $free } free

copies-done-bought = The copies have been bought.
copies-done-topped-up = The lot has been topped up.
copies-done-suspended = The lot's lending is suspended.
copies-done-resumed = The lot lends again.
copies-done-retired = The lot has been retired.
copies-done-shared = The sharing has been saved.

copies-error-number = Enter a whole number of at least 1.
copies-error-library = The library chosen is not valid.
copies-error-date = Enter the date as year-month-day.
