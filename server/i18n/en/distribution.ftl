## Distribution: this server as a hub (members, collections, usage) and as a member
## (hubs, installed collections).

menu-distribution = Distribution
distribution-title = Distribution
distribution-intro = A hub distributes collections (catalogue records, encrypted e-books and their keys) to member libraries that run servers of their own; members report their loans back to the hub. This server can be a hub, a member, or both. Only consortium admins manage distribution.
distribution-contents = On this page
distribution-colon = { ": " }
distribution-back = Back to distribution

distribution-members = Members
distribution-members-hint = This server as a hub: the member libraries' servers it distributes collections to.
distribution-members-caption = Members of this hub
distribution-member = Member
distribution-member-name = Name
distribution-region = Province or region
distribution-region-hint = For usage reports by province, e.g. “Zhejiang”. Optional.
distribution-status = Status
distribution-enrolled = Enrolled
distribution-not-enrolled = Not enrolled yet
distribution-no-members = No members yet.
distribution-status-invited = Invited
distribution-status-active = Active
distribution-status-suspended = Suspended
distribution-suspend = Suspend
distribution-suspend-label = Suspend { $name }
distribution-resume = Resume
distribution-resume-label = Resume { $name }
distribution-remove-label = Remove… { $name }
distribution-remove = Remove…
distribution-invite = Invite a member
distribution-invite-submit = Invite and make an enrolment code

distribution-invited-title = Member invited
distribution-name-region = { $name } ({ $region })
distribution-invited = { $name } is invited, with a one-time enrolment code.
distribution-code = Enrolment code
distribution-code-once = Copy the code now: it is shown only this once and cannot be seen again once you leave this page.
distribution-code-once-why = For safety the console never shows the code again. Give it to the member's administrator through a safe channel; it works once.
distribution-code-next = How the member enrols
distribution-code-step-console = In the member server's console, open “Distribution” and enter this server's address and the code under “Enrol with a hub”;
distribution-code-step-cli = or run on the member's server:
distribution-code-lost = If the code is lost, remove this member (it has not enrolled) and invite it again.

distribution-collections = Collections
distribution-collections-hint = This server as a hub: set each collection's titles, then publish them as a version; members fetch versions over the network or on a disk.
distribution-collections-caption = Collections of this hub
distribution-collection = Collection
distribution-collection-name = Name
distribution-slug = Short name
distribution-slug-hint = 1 to 64 lowercase letters, digits or hyphens, e.g. jiceng-2026. Used at the command line and for exported folders; it cannot be changed later.
distribution-copies = Copies per member
distribution-copies-each = { $count ->
    [one] { $count } copy per member
   *[other] { $count } copies per member
}
distribution-copies-hint = How many readers at each member may borrow a title at once. Leave empty for unlimited (no reader waits).
distribution-unlimited = Unlimited
distribution-titles = Titles
distribution-title-count = { $count ->
    [one] { $count } title
   *[other] { $count } titles
}
distribution-latest = Newest version
distribution-version = Version { $version }
distribution-version-column = Version
distribution-unpublished = Not published yet
distribution-no-collections = No collections yet.
distribution-set-titles-label = Set titles: { $name }
distribution-set-titles = Set titles
distribution-publish = Publish new version
distribution-publish-label = Publish new version: { $name }
distribution-publish-hint = Publishes the current titles as the next version; members get it the next time they fetch.
distribution-publish-empty = The collection has no titles yet: set its titles before publishing.
distribution-new-collection = New collection
distribution-create-collection = Create collection

distribution-title-ids = Title ids (one per line)
distribution-title-ids-hint = A title's id is in the address of its page in the catalogue (after /console/titles/). Once saved, the next version carries exactly these titles.
distribution-all-titles = Every title in the catalogue
distribution-all-titles-hint = When ticked, the list above is ignored and every title now in the catalogue is included.
distribution-save-titles = Save titles
distribution-titles-now = Titles now
distribution-titles-more = { $count ->
    [one] and { $count } more title not listed.
   *[other] and { $count } more titles not listed.
}
distribution-versions = Published versions
distribution-versions-caption = Published versions, newest first
distribution-published = Published
distribution-size = Size

distribution-usage = Usage reported by members
distribution-usage-hint = Members roll their loans up per day (no reader appears) and report them to the hub; shown by collection, member, province and month.
distribution-usage-caption = Usage ({ $from } to { $to })
distribution-month = Month
distribution-loans = Loans
distribution-renewals = Renewals
distribution-returns = Returns
distribution-no-usage = No member reported usage in this period.

distribution-hubs = Hubs
distribution-hubs-hint = This server as a member: the hubs it receives collections from.
distribution-hubs-caption = Hubs this server is enrolled with
distribution-hub = Hub
distribution-hub-name = Name
distribution-address = Address
distribution-key-ids = Key ids
distribution-no-hubs = This server is not enrolled with any hub.
distribution-join = Enrol with a hub
distribution-hub-url-hint = The hub server's address, e.g. https://hub.example. The hub must be reachable now.
distribution-code-hint = The one-time code the hub's admin made when inviting this library.
distribution-join-submit = Enrol

distribution-installed = Installed collections
distribution-installed-caption = Collections installed on this server from its hubs
distribution-installed-at = Installed
distribution-no-installed = No collection is installed.

distribution-disks = Distributing on disks
distribution-disks-intro = Where the network is poor, collections travel on a disk, at the server's command line (an interrupted copy resumes):
distribution-disks-export = On the hub, export the newest version:
distribution-disks-import = On the member, import it:
distribution-disks-more = Usage can come back to the hub on a disk too; see the
distribution-guide = distribution guide

distribution-remove-title = Remove { $name }
distribution-remove-member-means = Once removed, this member can no longer fetch collections from this hub or report usage; the books it installed stay in its catalogue. To let it back in, invite it again.
distribution-remove-hub-means = Once removed, this server no longer trusts this hub or accepts its collections; installed books stay in the catalogue and loans run to their end.
distribution-remove-suspend-instead = To stop distribution for a while only, suspend instead.
distribution-remove-confirm = Remove { $name }

distribution-done-suspended = Suspended.
distribution-done-resumed = Resumed.
distribution-done-removed = Removed.
distribution-done-joined = This server is enrolled with the hub.
distribution-done-collection-created = The collection was created. Next: set its titles, then publish.
distribution-done-titles-saved = The titles were saved. Members get them once a new version is published.
distribution-done-published = The new version was published.
distribution-error-copies = Enter a whole number of at least 1, or leave it empty for unlimited.
distribution-error-title-id = “{ $id }” is not a title id.
