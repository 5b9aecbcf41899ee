## 读者：查找、办证、读者详情（借阅、预约、设备、停借）。

patrons-title = 读者
patrons-new = 办理读者证
patrons-search-label = 卡号或姓名
patrons-search-hint = 输入卡号开头或姓名中的任意几个字，结果会随输入更新。
patrons-library = 所属图书馆
patrons-none-yet = 还没有读者。
patrons-no-match = 没有找到与“{ $q }”相符的读者。
patrons-all-caption = 全部读者
patrons-results-caption = 与“{ $q }”相符的读者
patrons-card = 卡号
patrons-name = 姓名
patrons-category = 读者类型
patrons-state = 状态
patrons-state-active = 正常
patrons-state-blocked = 已停借
patrons-state-expired = 读者证已过期
patrons-category-adult = 成人
patrons-category-child = 少儿
patrons-category-student = 学生
patrons-category-senior = 老年
patrons-category-hint = 英文小写代码，如 adult（成人）、child（少儿）、student（学生）、senior（老年）；借阅规则按读者类型设定。

patrons-new-title = 办理读者证
patrons-back-to-search = 返回读者查询
patrons-choose-library = 请选择图书馆
patrons-card-hint = 1–64 位字母、数字或“-”，字母一律按大写保存。
patrons-expiry = 读者证到期日
patrons-initial-password = 初始密码
patrons-password-hint = 至少 8 个字符。请告知读者登录后自行修改。
patrons-register = 办证
patrons-form-errors = 请修改以下内容后再提交：
patrons-error-card-number = 卡号须为 1–64 位字母、数字或“-”。
patrons-error-card-taken = 该卡号在本馆已被使用。
patrons-error-name = 请填写姓名（不超过 200 个字）。
patrons-error-category = 读者类型须为 1–32 位小写英文字母、数字、“_”或“-”。
patrons-error-password = 密码须为 8–128 个字符，且不能全是空格。
patrons-error-expiry = 请填写有效的到期日期。
patrons-error-library = 请选择所属图书馆。
patrons-error-reason = 原因不能超过 500 个字。

patrons-done-created = 读者证已办好。
patrons-done-saved = 读者信息已保存。
patrons-done-blocked = 已停止该读者的借阅权限。
patrons-done-unblocked = 已恢复该读者的借阅权限。
patrons-done-revoked = 该借阅已收回，读者会收到通知。
patrons-done-device-removed = 设备已移除。
patrons-done-hold-cancelled = 预约已取消。

patrons-block-reason = 停借原因
patrons-no-reason = 未填写
patrons-registered = 办证日期

patrons-history = 借阅记录
patrons-history-total = 累计借阅
patrons-history-year = 今年借阅
patrons-history-titles = 借过的书（种）

patrons-loans = 当前借阅
patrons-no-loans = 目前没有在借的书。
patrons-loan-title = 书名
patrons-loan-started = 借出日期
patrons-loan-ends = 到期时间
patrons-loan-days-left = 剩余天数
patrons-days-left = { $days } 天
patrons-loan-renewals = 已续借次数
patrons-revoke = 收回
patrons-revoke-reason = 收回原因
patrons-revoke-submit = 收回借阅
patrons-revoke-hint = 收回后读者立即无法继续阅读，复本归还馆藏；原因会记入操作日志并通知读者。

patrons-holds = 预约
patrons-no-holds = 没有进行中的预约。
patrons-hold-state = 状态
patrons-hold-position = 排队位置
patrons-hold-placed = 预约日期
patrons-hold-deadline = 取书截止
patrons-hold-suspended-until = 暂停至 { $date }
patrons-hold-cancel = 取消预约
patrons-hold-cancel-label = 取消预约：{ $title }

patrons-devices = 阅读设备
patrons-no-devices = 尚未绑定阅读设备。
patrons-device-name = 设备名称
patrons-device-enrolled = 绑定时间
patrons-device-remove = 移除
patrons-device-remove-label = 移除设备：{ $name }
patrons-device-remove-hint = 设备丢失时请移除：该设备上的借阅许可证将不再续发。

patrons-block-heading = 停借
patrons-block-hint = 停借后读者仍可登录并查看原因，但不能借书、续借或预约。原因最多 500 个字。
patrons-block-submit = 停借
patrons-unblock-heading = 恢复借阅
patrons-unblock-hint = 恢复后读者可以照常借书和预约。
patrons-unblock-submit = 恢复借阅

patrons-edit = 修改读者信息
patrons-reset-password = 重设密码（可不填）
patrons-reset-password-hint = 留空则不修改。重设后读者在所有设备上的登录都会退出。
