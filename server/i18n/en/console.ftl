## The console's layout, login, password and dashboard.

console-name = Librarians' console
console-menu = Console menu
console-password = Change password
console-logout = Log out
menu-dashboard = Dashboard
menu-catalogue = Catalogue
menu-patrons = Patrons
menu-holds = Holds
menu-rules = Lending rules
menu-reports = Reports
menu-audit = Audit log
menu-admin = Libraries and staff

login-title = Staff login
login-username = User name
login-password = Password
login-submit = Log in
login-hint = If you have forgotten your password, ask your library's manager. After several wrong passwords you must wait a moment before trying again.
login-wrong = The user name or password is wrong.
login-locked-out = Too many wrong passwords; try again in { $seconds } seconds.
login-deactivated = This account has been deactivated.

password-title = Change password
password-current = Current password
password-new = New password
password-rule = At least 8 characters.
password-submit = Change password
password-changed = Your password has been changed. Your logins on other devices have ended.
password-wrong-current = The current password is wrong.
password-too-weak = The new password does not meet the rule: at least 8 characters.
password-other-sessions = After the change, you are logged out of every other browser and device.

dashboard-title = Dashboard
dashboard-today = Today
dashboard-loans-today = loans today
dashboard-returns-today = returns today
dashboard-holds-today = new holds today
dashboard-copies-in-use = copies in use
dashboard-holds-without-copy = holds with no copy to lend
dashboard-top-titles = Most borrowed this month
dashboard-per-library = Loans this month by library
dashboard-title-column = Title
dashboard-library-column = Library
dashboard-loans-column = Loans
dashboard-no-loans = No loans this month yet.
