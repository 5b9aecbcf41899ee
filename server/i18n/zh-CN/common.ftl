## Every page: layout, home page, error pages, problem types.

site-name = 借阅 Jieyue
skip-to-content = 跳到正文
nav-tools = 工具
common-copies = { $count } 册
common-yes = 是
common-no = 否
common-save = 保存
common-cancel = 取消
common-search = 搜索
common-none = 无
common-all = 全部
common-actions = 操作
common-download-csv = 下载 CSV
common-previous = 上一页
common-next = 下一页

home-title = 借阅 · 电子书借阅服务器
home-intro = 本服务器为公共图书馆联盟出借电子书。每本书只加密一次；借阅时读者得到一份绑定其设备、带签名的许可证，阅读应用即使离线也会按借期执行。读者在所在图书馆的应用中借阅和阅读；馆员在管理后台管理馆藏、复本与借阅。
home-console-link = 馆员后台
home-console-cta = 进入馆员后台
home-reader-cta = 读者：找书、借书、在线阅读
home-libraries = 成员馆
home-no-libraries = 尚未设立图书馆。
home-for-apps = 供应用与开发者使用
home-opds = OPDS 2.0 书目
home-openapi = HTTP API 说明（OpenAPI 3.1）
home-health = 运行状态
home-guides = 文档

error-status = 状态码 { $status }
error-fields = 以下字段有误：
error-back = 返回：
error-console = 馆员后台
error-home = 首页

page-cross-site = 请求来自其他网站或页面已过期，已被拒绝。请刷新页面后重试。
page-bad-form = 表单内容无法识别。请返回重新填写。

problem-malformed-request = 请求格式有误。
problem-validation = 填写的内容有误。
problem-payload-too-large = 上传的文件太大。
problem-unauthenticated = 请先登录。
problem-invalid-credentials = 用户名或密码不正确。
problem-too-many-attempts = 密码错误次数过多，请稍候再试。
problem-forbidden = 您没有执行此操作的权限。
problem-not-found = 找不到该记录，或它不在您的管辖范围内。
problem-conflict = 与现有数据冲突。
problem-no-copy-available = 所有复本均已借出。
problem-loan-limit = 读者的在借数量已达上限。
problem-already-borrowed = 读者已借阅此书。
problem-patron-blocked = 该读者已被停借。
problem-card-expired = 读者证已过期。
problem-renewal-refused = 有其他读者在等候，不能续借。
problem-renewal-limit = 续借次数已用完。
problem-hold-limit = 读者的预约数量已达上限。
problem-device-limit = 读者的设备数量已达上限。
problem-loan-ended = 该借阅已结束。
problem-already-protected = 该文件已经加密，无法再次入藏。
problem-insufficient-storage = 服务器存储空间不足。
problem-unavailable = 存储暂时不可用，请稍后再试。
problem-internal = 服务器出错，已记录日志。

## Kinds of publication
kind-epub = 电子书
kind-page-images = 期刊（页面图像）
kind-images = 图片集
kind-audiobook = 有声书
kind-video = 视频
