## The console's layout, login, password and dashboard.

console-name = 馆员后台
console-menu = 后台菜单
console-password = 修改密码
console-logout = 退出登录
menu-dashboard = 概览
menu-catalogue = 馆藏
menu-patrons = 读者
menu-holds = 预约
menu-rules = 借阅规则
menu-reports = 统计报表
menu-audit = 操作日志
menu-admin = 馆与馆员

login-title = 馆员登录
login-username = 用户名
login-password = 密码
login-submit = 登录
login-hint = 忘记密码请联系本馆管理员。连续输错密码后需等待片刻才能再试。
login-wrong = 用户名或密码不正确。
login-locked-out = 密码错误次数过多，请 { $seconds } 秒后再试。
login-deactivated = 该账号已停用。

password-title = 修改密码
password-current = 当前密码
password-new = 新密码
password-rule = 至少 8 个字符。
password-submit = 修改密码
password-changed = 密码已修改。您在其他设备上的登录已退出。
password-wrong-current = 当前密码不正确。
password-too-weak = 新密码不符合要求：至少 8 个字符。
password-other-sessions = 修改后，您在其他浏览器和设备上的登录会全部退出。

dashboard-title = 概览
dashboard-today = 今日
dashboard-loans-today = 今日借出
dashboard-returns-today = 今日归还
dashboard-holds-today = 今日新增预约
dashboard-copies-in-use = 在借复本
dashboard-holds-without-copy = 无复本可借的预约
dashboard-top-titles = 本月借阅最多的书
dashboard-per-library = 本月各馆借阅量
dashboard-title-column = 书名
dashboard-library-column = 图书馆
dashboard-loans-column = 借阅次数
dashboard-no-loans = 本月尚无借阅。
