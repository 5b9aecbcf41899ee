## 复本：授权批次的购买、增购、暂停、恢复、停用、共享，以及各馆的取用顺序。

copies-title = 复本
copies-heading = 《{ $title }》的复本
copies-lots = 授权批次
copies-lots-caption = 本书目的授权批次（您所在馆可见的）
copies-no-lots = 尚未购买复本。
copies-owner = 所属
copies-pool = 联盟共享池
copies-copies = 复本数
copies-out = 借出中
copies-checkouts-left = 剩余可借次数
copies-unlimited = 不限
copies-expires = 到期日
copies-no-expiry = 长期
copies-expired = 已到期
copies-used-up = 次数已用完
copies-shared-with = 共享给
copies-not-shared = 未共享
copies-state = 状态
copies-status-active = 正常
copies-status-suspended = 已暂停
copies-status-retired = 已停用

copies-manage-lot = 管理批次：{ $owner }
copies-add-copies = 增购复本数
copies-top-up = 增购
copies-suspend = 暂停出借
copies-resume = 恢复出借
copies-retire = 停用
copies-retire-hint = 停用后不再出借；已借出的照常到期。
copies-retired-hint = 此批次已停用，不再出借。
copies-save-shares = 保存共享设置

copies-buy = 购买复本
copies-owner-hint = 馆长为本馆购买；联盟管理员可为任一馆或联盟共享池购买。
copies-checkout-limit = 可借次数上限
copies-checkout-limit-hint = 按次计费的授权填写总可借次数；留空为不限次数。
copies-expires-hint = 授权到期日（含当天）；留空为长期授权。
copies-share-hint = 勾选的馆也可出借此批次。联盟共享池的批次若不勾选任何馆，则所有馆都可出借。
copies-buy-submit = 购买

copies-draw-heading = 各馆的取用顺序
copies-draw-hint = 读者借阅时，按以下顺序从其所在馆可用的批次中取复本：先本馆的，再联盟共享池的，最后其他馆共享的；同类中先用快到期的，再用最早购买的。
copies-draw-caption = 各馆现可出借的批次，按取用顺序
copies-draw-order = 取用顺序
copies-draw-none = 现在没有可出借的批次。
copies-free-of = 空闲 { $free }

copies-done-bought = 已购买复本。
copies-done-topped-up = 已增购复本。
copies-done-suspended = 批次已暂停出借。
copies-done-resumed = 批次已恢复出借。
copies-done-retired = 批次已停用。
copies-done-shared = 共享设置已保存。

copies-error-number = 请填写不小于 1 的整数。
copies-error-library = 所选图书馆无效。
copies-error-date = 日期格式应为 年-月-日。
