## Patrons: search, registration, the patron's page (loans, holds, devices, blocks).

patrons-title = Patrons
patrons-new = Register a patron
patrons-search-label = Card number or name
patrons-search-hint = Type the start of a card number or any part of a name; the results follow as you type.
patrons-library = Library
patrons-none-yet = There are no patrons yet.
patrons-no-match = No patron matches “{ $q }”.
patrons-all-caption = All patrons
patrons-results-caption = Patrons matching “{ $q }”
patrons-card = Card number
patrons-name = Name
patrons-category = Category
patrons-state = Status
patrons-state-active = Active
patrons-state-blocked = Blocked
patrons-state-expired = Card expired
patrons-category-adult = Adult
patrons-category-child = Child
patrons-category-student = Student
patrons-category-senior = Senior
patrons-category-hint = A lowercase code such as adult, child, student or senior; lending rules are set per category.

patrons-new-title = Register a patron
patrons-back-to-search = Back to patron search
patrons-choose-library = Choose a library
patrons-card-hint = 1–64 letters, digits or “-”; letters are stored in capitals.
patrons-expiry = Card expires on
patrons-initial-password = Initial password
patrons-password-hint = At least 8 characters. Ask the patron to change it after logging in.
patrons-register = Register
patrons-form-errors = Please correct the following and submit again:
patrons-error-card-number = The card number must be 1–64 letters, digits or “-”.
patrons-error-card-taken = This card number is already in use at the library.
patrons-error-name = Enter a name (at most 200 characters).
patrons-error-category = The category must be 1–32 lowercase letters, digits, “_” or “-”.
patrons-error-password = The password must be 8–128 characters and not only spaces.
patrons-error-expiry = Enter a valid expiry date.
patrons-error-library = Choose the patron's library.
patrons-error-reason = The reason must be at most 500 characters.

patrons-done-created = The patron is registered.
patrons-done-saved = The patron's details are saved.
patrons-done-blocked = The patron is blocked from borrowing.
patrons-done-unblocked = The patron may borrow again.
patrons-done-revoked = The loan is revoked; the patron will be notified.
patrons-done-device-removed = The device is removed.
patrons-done-hold-cancelled = The hold is cancelled.

patrons-block-reason = Reason for the block
patrons-no-reason = None given
patrons-registered = Registered on

patrons-history = Reading history
patrons-history-total = loans in all
patrons-history-year = loans this year
patrons-history-titles = different titles
patrons-loans = Current loans
patrons-no-loans = No books on loan.
patrons-loan-title = Title
patrons-loan-started = Borrowed on
patrons-loan-ends = Due
patrons-loan-days-left = Days left
patrons-days-left = { $days ->
    [one] { $days } day
   *[other] { $days } days
}
patrons-loan-renewals = Renewals
patrons-revoke = Revoke
patrons-revoke-reason = Reason
patrons-revoke-submit = Revoke loan
patrons-revoke-hint = A revoked loan ends at once and its copy returns to the collection; the reason is kept in the audit log and sent to the patron.

patrons-holds = Holds
patrons-no-holds = No open holds.
patrons-hold-state = Status
patrons-hold-position = Place in queue
patrons-hold-placed = Placed on
patrons-hold-deadline = Pick up by
patrons-hold-suspended-until = suspended until { $date }
patrons-hold-cancel = Cancel hold
patrons-hold-cancel-label = Cancel hold: { $title }

patrons-devices = Reading devices
patrons-no-devices = No reading devices enrolled.
patrons-device-name = Device
patrons-device-enrolled = Enrolled
patrons-device-remove = Remove
patrons-device-remove-label = Remove device: { $name }
patrons-device-remove-hint = Remove a lost device: its licences will no longer be renewed.

patrons-block-heading = Block
patrons-block-hint = A blocked patron can still log in and see why, but cannot borrow, renew or place holds. At most 500 characters.
patrons-block-submit = Block
patrons-unblock-heading = Lift the block
patrons-unblock-hint = The patron will be able to borrow and place holds again.
patrons-unblock-submit = Lift the block

patrons-edit = Edit the patron's details
patrons-reset-password = Reset the password (optional)
patrons-reset-password-hint = Leave empty to keep it. A reset logs the patron out everywhere.
