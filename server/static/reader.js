// The reader page's script: lays the book out inside its sandboxed frame.
//
// The frame (`#book`, sandbox="allow-same-origin", no scripts) shows one document of
// the book's reading order, served by our server with a policy that runs no script.
// Being of the same origin, its document can be styled and measured from here: this
// script injects one stylesheet into it (theme, text size, and pages made with CSS
// columns, or a scrolled page), turns pages (keys, buttons, taps and swipes), moves to
// the next or previous document at either end, and saves the reading position as a
// Readium locator (the same positions the apps use). Everything it needs comes from the
// `data-*` attributes of `#reader`; settings (theme, size, layout) stay in this
// browser's localStorage. Plain ES2017, no build step, no inline script.
"use strict";

(function () {
  var root = document.getElementById("reader");
  var frame = document.getElementById("book");
  if (!root || !frame) return;

  var data = root.dataset;
  var order = [];
  try {
    order = JSON.parse(data.readingOrder || "[]");
  } catch (e) {
    order = [];
  }
  var totalPositions = Math.max(1, parseInt(data.totalPositions || "1", 10) || 1);
  var fixed = data.layout === "fixed";
  var SETTINGS_KEY = "jieyue-reader-settings";
  var FONT_MIN = 70;
  var FONT_MAX = 250;
  var FONT_STEP = 10;
  var ZOOM_STEPS = [0.5, 0.75, 1, 1.25, 1.5, 2, 3];

  var settings = loadSettings();
  var state = {
    index: Math.max(0, parseInt(data.index || "0", 10) || 0),
    // Where to go once the document has been laid out (0..1), or an element id.
    pendingProgression: parseFloat(data.progression || "0") || 0,
    pendingFragment: null,
    page: 0,
    pages: 1,
    vertical: false,
    rtl: data.direction === "rtl",
    firstShown: false,
    saveTimer: null,
    lastSaved: "",
    saves: 0,
    doc: null,
    style: null,
    touchX: null,
    touchY: null,
  };

  function loadSettings() {
    var defaults = { theme: "day", font: 100, mode: "paginated", zoom: 1 };
    try {
      var stored = JSON.parse(window.localStorage.getItem(SETTINGS_KEY) || "{}");
      Object.keys(defaults).forEach(function (k) {
        if (stored[k] !== undefined) defaults[k] = stored[k];
      });
    } catch (e) {
      // Private browsing or a damaged value: the defaults.
    }
    if (["day", "sepia", "night"].indexOf(defaults.theme) < 0) defaults.theme = "day";
    if (["paginated", "scrolled"].indexOf(defaults.mode) < 0) defaults.mode = "paginated";
    defaults.font = Math.min(FONT_MAX, Math.max(FONT_MIN, Number(defaults.font) || 100));
    if (ZOOM_STEPS.indexOf(defaults.zoom) < 0) defaults.zoom = 1;
    return defaults;
  }

  function storeSettings() {
    try {
      window.localStorage.setItem(SETTINGS_KEY, JSON.stringify(settings));
    } catch (e) {
      // Not kept; the page still works.
    }
  }

  var THEMES = {
    day: { bg: "#ffffff", fg: "#1a1a1a", link: "#9b2c1f" },
    sepia: { bg: "#f4ecd8", fg: "#4a3b28", link: "#8a3a12" },
    night: { bg: "#121212", fg: "#e2e2e2", link: "#f5a091" },
  };

  // ---- Addresses -------------------------------------------------------------------

  function contentUrl(href) {
    var hash = "";
    var at = href.indexOf("#");
    if (at >= 0) {
      hash = href.slice(at);
      href = href.slice(0, at);
    }
    return data.contentBase + href.split("/").map(encodeURIComponent).join("/") + hash;
  }

  function readUrl(href) {
    return data.readUrl + "?href=" + encodeURIComponent(href);
  }

  // The package path of the document the frame shows (null if it is not ours).
  function frameHref() {
    var loc;
    try {
      loc = frame.contentWindow.location;
    } catch (e) {
      return null;
    }
    if (!loc || loc.pathname.indexOf(data.contentBase) !== 0) return null;
    try {
      return loc.pathname.slice(data.contentBase.length).split("/").map(decodeURIComponent).join("/");
    } catch (e) {
      return null;
    }
  }

  function indexOf(href) {
    var path = href.split("#")[0];
    for (var i = 0; i < order.length; i++) if (order[i].href === path) return i;
    return -1;
  }

  // ---- Layout ----------------------------------------------------------------------

  // The frame fills the window's height below what is above it, leaving room for the
  // page controls under it (the stylesheet's guess serves without this script).
  function fitFrame() {
    var pager = document.querySelector(".read-pager");
    var top = frame.getBoundingClientRect().top + window.pageYOffset;
    var below = pager ? pager.getBoundingClientRect().height + 12 : 12;
    var height = Math.max(280, Math.floor(window.innerHeight - top - below));
    frame.style.height = height + "px";
  }

  function frameSize() {
    return { w: frame.clientWidth, h: frame.clientHeight };
  }

  // Margins around the text of a page, by the frame's width.
  function margins(w) {
    return w < 500 ? { x: 16, y: 20 } : { x: 32, y: 32 };
  }

  // Columns side by side on a page: two on a wide landscape frame, as in a book.
  function columnsPerPage(w, h) {
    return w >= 800 && w > h ? 2 : 1;
  }

  function themeCss() {
    var t = THEMES[settings.theme];
    return (
      ":root { background: " + t.bg + " !important; color: " + t.fg + " !important; }\n" +
      "body { background: transparent !important; color: inherit !important; }\n" +
      (settings.theme === "day"
        ? ""
        : "body * { color: inherit !important; background-color: transparent !important; }\n" +
          "a, a * { color: " + t.link + " !important; }\n") +
      "::selection { background: #ffe08a; color: #1a1a1a; }\n"
    );
  }

  function reflowableCss(w, h) {
    var m = margins(w);
    var css = themeCss();
    css += ":root { font-size: " + settings.font + "% !important; -webkit-text-size-adjust: none; }\n";
    css += "img, svg, video, canvas { max-width: 100% !important; object-fit: contain; }\n";
    if (settings.mode === "scrolled") {
      css += ":root { overflow: auto !important; height: auto !important; columns: auto !important; }\n";
      css += "body { margin: 0 auto !important; padding: " + m.y + "px " + m.x + "px !important; max-width: 42em; }\n";
      return css;
    }
    var inner = h - 2 * m.y;
    css += "img, svg, video, canvas { max-height: " + inner + "px !important; break-inside: avoid; }\n";
    // Only the root hides its overflow: a body that clips would be one unbreakable box.
    css += ":root { overflow: hidden !important; } body { overflow: visible !important; }\n";
    if (state.vertical) {
      // Vertical text: lines run down and follow one another leftwards. Columns of a
      // frame's width (their inline size is the frame's height) stack downwards, one
      // page each, so no line is ever cut between two pages.
      css += ":root { writing-mode: vertical-rl; box-sizing: border-box !important; " +
        "width: " + w + "px !important; max-width: " + w + "px !important; " +
        "height: " + h + "px !important; max-height: " + h + "px !important; margin: 0 !important; " +
        "padding: " + m.y + "px " + m.x + "px !important; column-width: " + (h - 2 * m.y) + "px !important; " +
        "column-gap: " + 2 * m.y + "px !important; column-fill: auto !important; }\n";
      css += "body { margin: 0 !important; padding: 0 !important; max-width: none !important; max-height: none !important; }\n";
      return css;
    }
    // Horizontal text: CSS columns; a page is `cols` of them, and with the margins as
    // half the gap on either side, pages follow one another exactly a frame apart.
    var cols = columnsPerPage(w, h);
    css += ":root { box-sizing: border-box !important; height: " + h + "px !important; max-height: " + h + "px !important; " +
      "margin: 0 !important; padding: " + m.y + "px " + m.x + "px !important; " +
      "column-width: " + Math.floor(w / cols - 2 * m.x) + "px !important; column-gap: " + 2 * m.x + "px !important; " +
      "column-fill: auto !important; width: auto !important; max-width: none !important; }\n";
    css += "body { margin: 0 !important; padding: 0 !important; max-width: none !important; min-height: 0 !important; }\n";
    return css;
  }

  function fixedCss(doc, w, h) {
    var size = fixedSize(doc);
    var fit = Math.min(w / size.w, h / size.h);
    var scale = fit * settings.zoom;
    var left = Math.max(0, (w - size.w * scale) / 2);
    var top = Math.max(0, (h - size.h * scale) / 2);
    var t = THEMES[settings.theme];
    return (
      "html { background: " + (settings.theme === "day" ? "#3a3a3a" : t.bg) + " !important; overflow: auto !important; }\n" +
      "body { margin: 0 !important; width: " + size.w + "px; height: " + size.h + "px; zoom: " + scale + "; " +
      "position: relative; left: " + left / scale + "px; top: " + top / scale + "px; overflow: hidden; background: #fff; }\n" +
      (size.image ? "body > img { display: block; width: 100%; height: 100%; }\n" : "")
    );
  }

  // A fixed-layout page's own size: its viewport meta, an SVG's size, or an image's.
  function fixedSize(doc) {
    var meta = doc.querySelector('meta[name="viewport"]');
    if (meta) {
      var content = meta.getAttribute("content") || "";
      var mw = /width\s*=\s*([\d.]+)/.exec(content);
      var mh = /height\s*=\s*([\d.]+)/.exec(content);
      if (mw && mh) return { w: parseFloat(mw[1]), h: parseFloat(mh[1]), image: false };
    }
    var img = doc.body && doc.body.children.length === 1 && doc.body.querySelector("img");
    if (img && img.naturalWidth) return { w: img.naturalWidth, h: img.naturalHeight, image: true };
    var svg = doc.documentElement && doc.documentElement.nodeName.toLowerCase() === "svg" ? doc.documentElement : null;
    if (svg && svg.viewBox && svg.viewBox.baseVal && svg.viewBox.baseVal.width) {
      return { w: svg.viewBox.baseVal.width, h: svg.viewBox.baseVal.height, image: false };
    }
    var el = doc.documentElement;
    return { w: Math.max(1, el.scrollWidth), h: Math.max(1, el.scrollHeight), image: false };
  }

  function ensureStyle(doc) {
    var style = doc.getElementById("jieyue-reader-style");
    if (!style) {
      style = doc.createElementNS("http://www.w3.org/1999/xhtml", "style");
      style.id = "jieyue-reader-style";
      (doc.head || doc.documentElement).appendChild(style);
    }
    return style;
  }

  // Whether the document is written vertically (its root or body says so).
  function isVertical(doc) {
    var view = doc.defaultView;
    if (!view) return false;
    var modes = [doc.documentElement, doc.body].filter(Boolean).map(function (el) {
      var s = view.getComputedStyle(el);
      return s.writingMode || s.webkitWritingMode || "";
    });
    return modes.some(function (m) {
      return m.indexOf("vertical") === 0 || m === "tb-rl" || m === "tb";
    }) || data.vertical === "true";
  }

  function isRtl(doc) {
    var view = doc.defaultView;
    var el = doc.body || doc.documentElement;
    if (view && el && view.getComputedStyle(el).direction === "rtl") return true;
    return data.direction === "rtl";
  }

  function scroller(doc) {
    return doc.scrollingElement || doc.documentElement;
  }

  // Lays the current document out and counts its pages.
  function layout() {
    var doc = state.doc;
    if (!doc || !doc.documentElement) return;
    var size = frameSize();
    if (!state.style || state.style.ownerDocument !== doc) state.style = ensureStyle(doc);
    if (fixed || !isHtml(doc)) {
      state.style.textContent = isHtml(doc) || fixed ? fixedCss(doc, size.w, size.h) : themeCss();
      state.pages = 1;
      state.page = 0;
      return;
    }
    state.style.textContent = reflowableCss(size.w, size.h);
    countPages();
  }

  function isHtml(doc) {
    return !!(doc.body && doc.documentElement && doc.documentElement.nodeName.toLowerCase() === "html");
  }

  function countPages() {
    var doc = state.doc;
    var s = scroller(doc);
    var size = frameSize();
    if (settings.mode === "scrolled") {
      state.pages = 1;
      return;
    }
    if (state.vertical) state.pages = Math.max(1, Math.ceil((s.scrollHeight - 2) / size.h));
    else state.pages = Math.max(1, Math.ceil((s.scrollWidth - 2) / size.w));
  }

  // ---- Where we are ----------------------------------------------------------------

  function paginated() {
    return !fixed && settings.mode === "paginated" && state.doc && isHtml(state.doc);
  }

  // The scroll offset (signed as the document's direction wants) of page `n`.
  function showPage(n) {
    var doc = state.doc;
    if (!doc) return;
    var s = scroller(doc);
    state.page = Math.max(0, Math.min(state.pages - 1, n));
    if (paginated()) {
      var size = frameSize();
      if (state.vertical) {
        s.scrollLeft = 0;
        s.scrollTop = state.page * size.h;
      } else {
        s.scrollLeft = (state.rtl ? -1 : 1) * state.page * size.w;
        s.scrollTop = 0;
      }
    }
    afterMove();
  }

  function progression() {
    if (!state.doc) return 0;
    if (paginated()) return state.pages > 0 ? state.page / state.pages : 0;
    if (fixed || settings.mode !== "scrolled") return 0;
    var s = scroller(state.doc);
    if (state.vertical) {
      var maxX = s.scrollWidth - s.clientWidth;
      return maxX > 0 ? Math.min(1, Math.abs(s.scrollLeft) / maxX) : 0;
    }
    var maxY = s.scrollHeight - s.clientHeight;
    return maxY > 0 ? Math.min(1, s.scrollTop / maxY) : 0;
  }

  function goToProgression(p) {
    p = Math.max(0, Math.min(1, p || 0));
    if (paginated()) {
      showPage(Math.min(state.pages - 1, Math.floor(p * state.pages + 1e-6)));
      return;
    }
    if (!fixed && state.doc && settings.mode === "scrolled") {
      var s = scroller(state.doc);
      if (state.vertical) s.scrollLeft = -p * (s.scrollWidth - s.clientWidth);
      else s.scrollTop = p * (s.scrollHeight - s.clientHeight);
    }
    afterMove();
  }

  function goToElement(id) {
    var doc = state.doc;
    var el = doc && id ? doc.getElementById(id) : null;
    if (!el) return false;
    if (paginated()) {
      var s = scroller(doc);
      var rect = el.getBoundingClientRect();
      var size = frameSize();
      if (state.vertical) {
        showPage(Math.floor(Math.max(0, s.scrollTop + rect.top) / size.h));
      } else {
        var offset = state.rtl ? Math.abs(s.scrollLeft) + (size.w - rect.right) : s.scrollLeft + rect.left;
        showPage(Math.floor(Math.max(0, offset) / size.w));
      }
    } else {
      el.scrollIntoView();
      afterMove();
    }
    return true;
  }

  function afterMove() {
    updateStatus();
    root.dataset.page = String(state.page + 1);
    root.dataset.pageCount = String(state.pages);
    root.dataset.currentHref = order[state.index] ? order[state.index].href : "";
    root.dataset.currentProgression = progression().toFixed(6);
    if (!state.firstShown) {
      state.firstShown = true;
      document.documentElement.dataset.firstPageMs = String(Math.round(performance.now()));
      root.dataset.ready = "true";
      return; // the place we were put at is already saved
    }
    scheduleSave();
  }

  function updateStatus() {
    var status = document.getElementById("page-status");
    if (!status) return;
    if (fixed) {
      status.textContent = label(state.index + 1, order.length);
    } else if (paginated()) {
      status.textContent = label(state.page + 1, state.pages);
    } else {
      status.textContent = Math.round(progression() * 100) + "%";
    }
  }

  function label(page, pages) {
    return (data.pageLabel || "%p / %n").replace("%p", String(page)).replace("%n", String(pages));
  }

  // ---- Turning pages ---------------------------------------------------------------

  function next() {
    if (paginated() && state.page < state.pages - 1) {
      showPage(state.page + 1);
      return;
    }
    if (!fixed && settings.mode === "scrolled" && state.doc) {
      var s = scroller(state.doc);
      var before = progression();
      if (before < 0.999) {
        var step = state.vertical ? -0.9 * s.clientWidth : 0.9 * s.clientHeight;
        if (state.vertical) s.scrollLeft += step;
        else s.scrollTop += step;
        afterMove();
        return;
      }
    }
    goToChapter(state.index + 1, 0);
  }

  function prev() {
    if (paginated() && state.page > 0) {
      showPage(state.page - 1);
      return;
    }
    if (!fixed && settings.mode === "scrolled" && state.doc) {
      var s = scroller(state.doc);
      if (progression() > 0.001) {
        var step = state.vertical ? 0.9 * s.clientWidth : -0.9 * s.clientHeight;
        if (state.vertical) s.scrollLeft += step;
        else s.scrollTop += step;
        afterMove();
        return;
      }
    }
    goToChapter(state.index - 1, 1);
  }

  // Pages turn leftwards in right-to-left and vertical books.
  function left() {
    if (state.rtl || state.vertical) next();
    else prev();
  }

  function right() {
    if (state.rtl || state.vertical) prev();
    else next();
  }

  function goToChapter(index, p, fragment) {
    if (index < 0 || index >= order.length) return;
    if (index !== state.index) saveNow();
    state.index = index;
    state.pendingProgression = p;
    state.pendingFragment = fragment || null;
    frame.src = contentUrl(order[index].href + (fragment ? "#" + fragment : ""));
    chapterChanged();
  }

  // The page around the frame follows the document shown.
  function chapterChanged() {
    var item = order[state.index];
    if (!item) return;
    try {
      window.history.replaceState(null, "", readUrl(item.href));
    } catch (e) {
      // The address bar keeps the old chapter; links still work.
    }
    var prevLink = document.getElementById("chapter-prev");
    var nextLink = document.getElementById("chapter-next");
    if (prevLink) {
      if (order[state.index - 1]) prevLink.href = readUrl(order[state.index - 1].href);
      prevLink.hidden = !order[state.index - 1];
    }
    if (nextLink) {
      if (order[state.index + 1]) nextLink.href = readUrl(order[state.index + 1].href);
      nextLink.hidden = !order[state.index + 1];
    }
    var name = null;
    var links = document.querySelectorAll("#read-toc a[data-href]");
    for (var i = 0; i < links.length; i++) {
      var here = links[i].dataset.href.split("#")[0] === item.href;
      if (here) {
        links[i].setAttribute("aria-current", "page");
        name = links[i].textContent;
      } else {
        links[i].removeAttribute("aria-current");
      }
    }
    var chapter = document.getElementById("read-chapter");
    if (chapter && name) chapter.textContent = name;
  }

  // ---- Saving the place ------------------------------------------------------------

  function locator() {
    var item = order[state.index];
    if (!item) return null;
    var p = progression();
    var count = Math.max(1, item.count || 1);
    var position = item.first + Math.min(count - 1, Math.floor(p * count));
    var total = (item.first - 1 + p * count) / totalPositions;
    var found = document.querySelector('#read-toc a[aria-current="page"]');
    var value = {
      href: item.href,
      type: item.type,
      locations: {
        progression: Math.round(p * 1e6) / 1e6,
        totalProgression: Math.round(Math.min(1, Math.max(0, total)) * 1e6) / 1e6,
        position: position,
      },
    };
    if (found) value.title = found.textContent;
    return value;
  }

  function scheduleSave() {
    if (state.saveTimer) clearTimeout(state.saveTimer);
    state.saveTimer = setTimeout(saveNow, 800);
  }

  function saveNow(keepalive) {
    if (state.saveTimer) {
      clearTimeout(state.saveTimer);
      state.saveTimer = null;
    }
    if (!state.firstShown) return;
    var value = locator();
    if (!value) return;
    var body = JSON.stringify(value);
    if (body === state.lastSaved) return;
    state.lastSaved = body;
    var request = fetch(data.positionUrl, {
      method: "POST",
      credentials: "same-origin",
      keepalive: !!keepalive,
      headers: { "Content-Type": "application/json", "X-CSRF-Token": data.csrf },
      body: body,
    });
    request
      .then(function (response) {
        if (response.status === 410) {
          window.location.reload();
          return;
        }
        if (response.ok) {
          state.saves += 1;
          root.dataset.saves = String(state.saves);
          root.dataset.savedProgression = String(value.locations.progression);
          root.dataset.savedHref = value.href;
        } else {
          state.lastSaved = "";
        }
      })
      .catch(function () {
        state.lastSaved = "";
      });
  }

  // When the page comes back into view, follow a place saved meanwhile on another
  // device (if it is not where we are).
  function follow() {
    fetch(data.positionUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.status === 410) window.location.reload();
        return response.ok ? response.json() : null;
      })
      .then(function (saved) {
        if (!saved || !saved.locator || !saved.locator.locations) return;
        var body = JSON.stringify(saved.locator);
        var mine = locator();
        if (body === state.lastSaved || !mine) return;
        var index = indexOf(saved.locator.href || "");
        if (index < 0) return;
        var p = Number(saved.locator.locations.progression) || 0;
        state.lastSaved = body;
        if (index !== state.index) {
          goToChapter(index, p);
        } else if (Math.abs(p - mine.locations.progression) > 1e-4) {
          goToProgression(p);
        }
      })
      .catch(function () {});
  }

  // ---- The frame's document ----------------------------------------------------------

  function onFrameLoad() {
    var doc;
    try {
      doc = frame.contentDocument;
    } catch (e) {
      return;
    }
    if (!doc || !doc.documentElement || doc.URL === "about:blank") return;
    if (doc.documentElement.getAttribute("data-reader-ended")) {
      window.location.reload();
      return;
    }
    var href = frameHref();
    var fragment = null;
    if (href !== null) {
      var index = indexOf(href);
      if (index >= 0 && index !== state.index) {
        // A link inside the book led to another document of it.
        saveNow();
        state.index = index;
        state.pendingProgression = 0;
        chapterChanged();
      }
      try {
        fragment = decodeURIComponent(frame.contentWindow.location.hash.slice(1)) || null;
      } catch (e) {
        fragment = null;
      }
    }
    state.doc = doc;
    state.style = null;
    state.vertical = !fixed && isVertical(doc);
    state.rtl = isRtl(doc);
    root.dataset.vertical = String(state.vertical);
    root.dataset.direction = state.rtl ? "rtl" : "ltr";
    listen(doc);
    layout();
    var place = function () {
      countPages();
      if (!(fragment && goToElement(fragment))) goToProgression(state.pendingProgression);
      state.pendingProgression = 0;
    };
    place();
    // Fonts and images may change the page count once they arrive.
    if (doc.fonts && doc.fonts.ready) {
      doc.fonts.ready.then(function () {
        if (state.doc !== doc) return;
        var p = progression();
        var before = state.pages;
        countPages();
        if (state.pages !== before) goToProgression(p);
      });
    }
    if (fixed) {
      var img = doc.querySelector("img");
      if (img && !img.complete) img.addEventListener("load", layout);
    }
  }

  function listen(doc) {
    doc.addEventListener("keydown", onKey);
    doc.addEventListener("click", onBookClick);
    doc.addEventListener("touchstart", onTouchStart, { passive: true });
    doc.addEventListener("touchend", onTouchEnd);
    doc.addEventListener("scroll", function () {
      if (!paginated()) {
        updateStatus();
        root.dataset.currentProgression = progression().toFixed(6);
        scheduleSave();
      }
    }, { passive: true });
  }

  // A tap on the book: a link is followed (another site's in a new tab); otherwise the
  // left and right thirds turn the page.
  function onBookClick(event) {
    var target = event.target;
    var link = target && target.closest ? target.closest("a[href]") : null;
    if (link) {
      var url;
      try {
        url = new URL(link.getAttribute("href"), state.doc.baseURI);
      } catch (e) {
        return;
      }
      if (url.origin !== window.location.origin) {
        event.preventDefault();
        window.open(url.href, "_blank", "noopener,noreferrer");
      }
      return;
    }
    if (settings.mode === "scrolled" && !fixed) return;
    var selection = state.doc.getSelection ? state.doc.getSelection() : null;
    if (selection && !selection.isCollapsed) return;
    var w = frameSize().w;
    var x = event.clientX;
    if (fixed) x = x * currentZoom(state.doc);
    if (x < w * 0.3) left();
    else if (x > w * 0.7) right();
  }

  function currentZoom(doc) {
    var z = doc && doc.body ? parseFloat(doc.defaultView.getComputedStyle(doc.body).zoom) : 1;
    return z > 0 ? z : 1;
  }

  function onTouchStart(event) {
    var t = event.changedTouches && event.changedTouches[0];
    if (!t) return;
    state.touchX = t.clientX;
    state.touchY = t.clientY;
  }

  function onTouchEnd(event) {
    var t = event.changedTouches && event.changedTouches[0];
    if (!t || state.touchX === null) return;
    var dx = t.clientX - state.touchX;
    var dy = t.clientY - state.touchY;
    state.touchX = null;
    if (!paginated() && !fixed) return;
    if (fixed && settings.zoom > 1) return;
    if (Math.abs(dx) > 50 && Math.abs(dx) > 2 * Math.abs(dy)) {
      if (dx < 0) right();
      else left();
    }
  }

  // Keys: arrows (TV remotes send them), PageUp/PageDown, space (Shift+space back).
  // Not while typing in a field or on a control that uses the key itself.
  function onKey(event) {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
    var target = event.target;
    var tag = target && target.nodeName ? target.nodeName.toLowerCase() : "";
    if (tag === "input" || tag === "textarea" || tag === "select" || (target && target.isContentEditable)) return;
    var onControl = tag === "button" || tag === "a" || tag === "summary";
    var handled = true;
    switch (event.key) {
      case "ArrowLeft":
        if (onControl && target.ownerDocument === document && !target.closest(".read-pager")) return;
        left();
        break;
      case "ArrowRight":
        if (onControl && target.ownerDocument === document && !target.closest(".read-pager")) return;
        right();
        break;
      case "PageDown":
        next();
        break;
      case "PageUp":
        prev();
        break;
      case "ArrowDown":
        if (!paginated() && !fixed) return;
        if (onControl && target.ownerDocument === document) return;
        next();
        break;
      case "ArrowUp":
        if (!paginated() && !fixed) return;
        if (onControl && target.ownerDocument === document) return;
        prev();
        break;
      case " ":
      case "Spacebar":
        if (onControl) return;
        if (event.shiftKey) prev();
        else next();
        break;
      default:
        handled = false;
    }
    if (handled) event.preventDefault();
  }

  // ---- Controls ----------------------------------------------------------------------

  function relayoutKeepingPlace() {
    if (!state.doc) return;
    var p = progression();
    layout();
    countPages();
    goToProgression(p);
  }

  function applyTheme() {
    root.classList.remove("theme-day", "theme-sepia", "theme-night");
    root.classList.add("theme-" + settings.theme);
    root.dataset.theme = settings.theme;
    root.dataset.mode = fixed ? "fixed" : settings.mode;
    root.dataset.fontSize = String(settings.font);
    var fontOut = document.getElementById("font-size");
    if (fontOut) fontOut.textContent = settings.font + "%";
    var zoomOut = document.getElementById("zoom-value");
    if (zoomOut) zoomOut.textContent = Math.round(settings.zoom * 100) + "%";
    var radios = document.querySelectorAll('#read-settings input[type="radio"]');
    for (var i = 0; i < radios.length; i++) {
      radios[i].checked = settings[radios[i].name] === radios[i].value;
    }
  }

  function wire(id, handler) {
    var el = document.getElementById(id);
    if (!el) return;
    el.hidden = false;
    el.addEventListener("click", handler);
  }

  function setUp() {
    wire("page-prev", function () {
      left();
    });
    wire("page-next", function () {
      right();
    });
    // The buttons say what they do on the screen: in a right-to-left book "next page"
    // is on the left.
    var toggle = document.getElementById("read-settings-toggle");
    var panel = document.getElementById("read-settings");
    if (toggle && panel) {
      toggle.hidden = false;
      toggle.addEventListener("click", function () {
        panel.hidden = !panel.hidden;
        toggle.setAttribute("aria-expanded", String(!panel.hidden));
        fitFrame();
        relayoutKeepingPlace();
      });
    }
    wire("font-smaller", function () {
      settings.font = Math.max(FONT_MIN, settings.font - FONT_STEP);
      storeSettings();
      applyTheme();
      relayoutKeepingPlace();
    });
    wire("font-larger", function () {
      settings.font = Math.min(FONT_MAX, settings.font + FONT_STEP);
      storeSettings();
      applyTheme();
      relayoutKeepingPlace();
    });
    wire("zoom-out", function () {
      var i = ZOOM_STEPS.indexOf(settings.zoom);
      settings.zoom = ZOOM_STEPS[Math.max(0, i - 1)];
      storeSettings();
      applyTheme();
      layout();
    });
    wire("zoom-in", function () {
      var i = ZOOM_STEPS.indexOf(settings.zoom);
      settings.zoom = ZOOM_STEPS[Math.min(ZOOM_STEPS.length - 1, i + 1)];
      storeSettings();
      applyTheme();
      layout();
    });
    var radios = document.querySelectorAll('#read-settings input[type="radio"]');
    for (var i = 0; i < radios.length; i++) {
      radios[i].addEventListener("change", function (event) {
        var input = event.target;
        if (!input.checked) return;
        settings[input.name] = input.value;
        storeSettings();
        applyTheme();
        relayoutKeepingPlace();
      });
    }
    // Contents: open the chapter in the frame, without loading the page again.
    var toc = document.querySelectorAll("#read-toc a[data-href]");
    for (var j = 0; j < toc.length; j++) {
      toc[j].addEventListener("click", function (event) {
        var href = event.currentTarget.dataset.href;
        var index = indexOf(href);
        if (index < 0) return;
        event.preventDefault();
        var at = href.indexOf("#");
        goToChapter(index, 0, at >= 0 ? href.slice(at + 1) : null);
        frame.focus();
        frame.scrollIntoView({ block: "nearest" });
      });
    }
    ["chapter-prev", "chapter-next"].forEach(function (id, k) {
      var link = document.getElementById(id);
      if (!link) return;
      link.addEventListener("click", function (event) {
        event.preventDefault();
        goToChapter(state.index + (k === 0 ? -1 : 1), 0);
      });
    });
    document.addEventListener("keydown", onKey);
    var resizeTimer = null;
    window.addEventListener("resize", function () {
      if (resizeTimer) clearTimeout(resizeTimer);
      resizeTimer = setTimeout(function () {
        fitFrame();
        relayoutKeepingPlace();
      }, 150);
    });
    window.addEventListener("pagehide", function () {
      saveNow(true);
    });
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "hidden") saveNow(true);
      else follow();
    });
    applyTheme();
  }

  setUp();
  fitFrame();
  frame.addEventListener("load", onFrameLoad);
  // The frame may have finished before this script ran.
  try {
    var early = frame.contentDocument;
    if (early && early.readyState === "complete" && early.URL !== "about:blank") onFrameLoad();
  } catch (e) {
    // Not ready; the load event comes.
  }
})();
