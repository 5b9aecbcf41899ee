## Distribution: this server as a hub (members, collections, usage) and as a member
## (hubs, installed collections).

menu-distribution = 馆藏分发
distribution-title = 馆藏分发
distribution-intro = 中心馆把馆藏（书目、加密电子书及其密钥）按“馆藏集”分发给另设服务器的成员馆；成员馆把借阅量报回中心馆。本服务器可以是中心馆、成员馆，或两者兼是。只有联盟管理员可以管理分发。
distribution-contents = 本页目录
distribution-colon = ：
distribution-back = 返回馆藏分发

distribution-members = 成员馆
distribution-members-hint = 本服务器作为中心馆：向这些成员馆的服务器分发馆藏集。
distribution-members-caption = 本中心馆的成员馆
distribution-member = 成员馆
distribution-member-name = 馆名
distribution-region = 省份或地区
distribution-region-hint = 用于按省份统计借阅量，例如“浙江省”。可不填。
distribution-status = 状态
distribution-enrolled = 加入日期
distribution-not-enrolled = 尚未加入
distribution-no-members = 还没有成员馆。
distribution-status-invited = 已邀请
distribution-status-active = 正常
distribution-status-suspended = 已暂停
distribution-suspend = 暂停
distribution-suspend-label = 暂停 { $name }
distribution-resume = 恢复
distribution-resume-label = 恢复 { $name }
distribution-remove-label = 移除… { $name }
distribution-remove = 移除…
distribution-invite = 邀请成员馆
distribution-invite-submit = 邀请并生成加入码

distribution-invited-title = 成员馆已邀请
distribution-name-region = { $name }（{ $region }）
distribution-invited = 已邀请 { $name }，并生成了一次性加入码。
distribution-code = 加入码
distribution-code-once = 请现在复制加入码：它只显示这一次，离开本页后无法再查看。
distribution-code-once-why = 为安全起见，后台不会再次显示加入码。请通过安全的渠道交给成员馆的管理员；加入码只能使用一次。
distribution-code-next = 成员馆如何加入
distribution-code-step-console = 在成员馆服务器的馆员后台打开“馆藏分发”，在“加入中心馆”中填入本服务器的地址和这个加入码；
distribution-code-step-cli = 或在成员馆服务器上运行：
distribution-code-lost = 如果加入码丢失，请移除这个尚未加入的成员馆，再邀请一次。

distribution-collections = 馆藏集
distribution-collections-hint = 本服务器作为中心馆：每个馆藏集设定书目后发布为一个版本，成员馆按版本通过网络或移动硬盘获取。
distribution-collections-caption = 本中心馆的馆藏集
distribution-collection = 馆藏集
distribution-collection-name = 名称
distribution-slug = 代号
distribution-slug-hint = 1 至 64 个小写字母、数字或连字符，例如 jiceng-2026。用于命令行和导出的文件夹名，创建后不能修改。
distribution-copies = 每馆复本数
distribution-copies-each = 每馆 { $count } 册
distribution-copies-hint = 每个成员馆每种书可同时借出的册数。留空表示不限（读者无需等候）。
distribution-unlimited = 不限
distribution-titles = 书目数
distribution-title-count = { $count } 种
distribution-latest = 最新版本
distribution-version = 第 { $version } 版
distribution-version-column = 版本
distribution-unpublished = 尚未发布
distribution-no-collections = 还没有馆藏集。
distribution-set-titles-label = 设定书目：{ $name }
distribution-set-titles = 设定书目
distribution-publish = 发布新版本
distribution-publish-label = 发布新版本：{ $name }
distribution-publish-hint = 以当前书目发布下一个版本；成员馆下次获取时即可收到。
distribution-publish-empty = 馆藏集还没有书目，设定书目后才能发布。
distribution-new-collection = 新建馆藏集
distribution-create-collection = 创建馆藏集

distribution-title-ids = 书目 ID（每行一个）
distribution-title-ids-hint = 书目 ID 见编目中每种书页面的地址（/console/titles/ 之后的部分）。保存后，下一个版本包含且只包含这些书目。
distribution-all-titles = 目录中的全部书目
distribution-all-titles-hint = 勾选后忽略上面的列表，收入目前目录中的每一种书。
distribution-save-titles = 保存书目
distribution-titles-now = 当前书目
distribution-titles-more = 另有 { $count } 种未列出。
distribution-versions = 已发布的版本
distribution-versions-caption = 已发布的版本，最新的在前
distribution-published = 发布日期
distribution-size = 大小

distribution-usage = 成员馆报告的借阅量
distribution-usage-hint = 成员馆按日汇总其借阅（不含读者信息）报回中心馆；按馆藏集、成员馆、省份和月份统计。
distribution-usage-caption = 借阅量（{ $from } 至 { $to }）
distribution-month = 月份
distribution-loans = 借出
distribution-renewals = 续借
distribution-returns = 归还
distribution-no-usage = 这段时间没有成员馆报告的借阅。

distribution-hubs = 中心馆
distribution-hubs-hint = 本服务器作为成员馆：从这些中心馆接收馆藏集。
distribution-hubs-caption = 本服务器加入的中心馆
distribution-hub = 中心馆
distribution-hub-name = 名称
distribution-address = 地址
distribution-key-ids = 密钥标识
distribution-no-hubs = 本服务器还没有加入任何中心馆。
distribution-join = 加入中心馆
distribution-hub-url-hint = 中心馆服务器的地址，例如 https://hub.example。加入时中心馆必须能够访问。
distribution-code-hint = 中心馆管理员邀请本馆时得到的一次性加入码。
distribution-join-submit = 加入

distribution-installed = 已安装的馆藏集
distribution-installed-caption = 从中心馆安装到本服务器的馆藏集
distribution-installed-at = 安装时间
distribution-no-installed = 还没有安装任何馆藏集。

distribution-disks = 用移动硬盘分发
distribution-disks-intro = 网络不便时，可在服务器的命令行用移动硬盘传递馆藏集（可断点续传）：
distribution-disks-export = 在中心馆导出最新版本：
distribution-disks-import = 在成员馆导入：
distribution-disks-more = 借阅量也可以写入硬盘带回中心馆，详见
distribution-guide = 馆藏分发指南

distribution-remove-title = 移除 { $name }
distribution-remove-member-means = 移除后，这个成员馆不能再从本中心馆获取馆藏集或报告借阅量；它已安装的书仍留在它的目录中。若要它重新加入，需要再次邀请。
distribution-remove-hub-means = 移除后，本服务器不再信任这个中心馆，也不再接收它的馆藏集；已安装的书仍在目录中，借出的书照常到期。
distribution-remove-suspend-instead = 只想暂时停止分发，请改用“暂停”。
distribution-remove-confirm = 确认移除 { $name }

distribution-done-suspended = 已暂停。
distribution-done-resumed = 已恢复。
distribution-done-removed = 已移除。
distribution-done-joined = 已加入中心馆。
distribution-done-collection-created = 馆藏集已创建。下一步：设定书目，然后发布。
distribution-done-titles-saved = 书目已保存。发布新版本后成员馆才会收到。
distribution-done-published = 新版本已发布。
distribution-error-copies = 请填写不小于 1 的整数，或留空表示不限。
distribution-error-title-id = “{ $id }”不是书目 ID。
