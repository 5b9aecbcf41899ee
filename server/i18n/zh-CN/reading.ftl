# 在浏览器里读书：阅读页、书中搜索、借阅结束的提示。

reader-read-back = ← 我的书架
reader-read-contents = 目录
reader-read-search = 搜索
reader-read-settings = 阅读设置
reader-read-font-size = 字号
reader-read-font-smaller = 缩小字号
reader-read-font-larger = 放大字号
reader-read-mode = 阅读方式
reader-read-mode-paginated = 翻页
reader-read-mode-scrolled = 滚动
reader-read-theme = 背景
reader-read-theme-day = 白天
reader-read-theme-sepia = 护眼
reader-read-theme-night = 夜间
reader-read-zoom = 缩放
reader-read-zoom-in = 放大
reader-read-zoom-out = 缩小
reader-read-frame = 正文：{ $chapter }
reader-read-chapters = 章节导航
reader-read-prev-chapter = ‹ 上一章
reader-read-next-chapter = 下一章 ›
reader-read-prev-page = 上一页
reader-read-next-page = 下一页
# %p 是当前页，%n 是本章总页数（由页面脚本填入）。
reader-read-page-of = 第 %p / %n 页
reader-read-search-heading = 在书中搜索
reader-read-search-label = 要找的字词
reader-read-search-button = 搜索
reader-read-search-found = 找到 { $count } 处
reader-read-search-none = 书中没有找到“{ $query }”。
reader-read-search-limited = 只列出前 200 处。
reader-read-back-to-book = ← 回到书中
reader-read-ended-title = 这本书的借阅已经结束
reader-read-ended-body = 借期已满、已经归还或被图书馆收回的书不能再阅读。想继续读，可以再借一次，没有空闲复本时可以预约。
reader-read-ended-shelf = 去我的书架
reader-read-ended-search = 找书

## Audio, video and page images
reader-media-unsupported = 这个浏览器不能播放这种格式。
reader-media-tracks = 曲目
reader-media-videos = 视频
reader-media-prev = ‹ 上一个
reader-media-next = 下一个 ›
reader-media-page = 第 { $number } 页
