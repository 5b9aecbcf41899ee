// The reader's web app in headless Chromium, on a phone (390×844) and a desktop
// (1280×800): a reader logs in, searches 李白 in simplified characters and finds the
// traditional-character volume, borrows it, reads and turns pages, closes the tab and
// comes back at the same page; a phone app (the client core through the Python
// bindings, ffi/tests/python/cross_device.py) reads that position and moves it, and the
// web reader follows; after the app returns the loan the reader page refuses. A book
// whose chapter carries scripts runs none of them. Every page is checked with axe (no
// serious or critical violation), must not scroll sideways, and is photographed in
// Chinese and English. The time to the first page is printed (for docs/benchmarks.md).
//
//   JIEYUE_BROWSER_NODE=DIR JIEYUE_PY_BINDINGS=DIR node tests/browser/reader.mjs BASE SHOTS
import { createRequire } from "node:module";
import { readFileSync, mkdirSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";

const require = createRequire(`${process.env.JIEYUE_BROWSER_NODE}/package.json`);
const { chromium } = require("playwright-core");
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const [base, shots] = process.argv.slice(2);
mkdirSync(shots, { recursive: true });
const PASSWORD = "demo-reader-pass";
const CARD = "C0002";

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox"],
});
const failures = [];
const fail = (message) => {
  failures.push(message);
  console.error(`FAIL ${message}`);
};
let checked = 0;
const timings = [];

async function check(page, name, lang) {
  checked += 1;
  if (lang && (await page.getAttribute("html", "lang")) !== lang) fail(`${name}: html lang is not ${lang}`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (overflow > 0) fail(`${name}: ${overflow}px wider than the screen`);
  if (!(await page.evaluate(() => typeof window.axe !== "undefined"))) await page.evaluate(axeSource);
  const result = await page.evaluate(() => axe.run(document, { resultTypes: ["violations"] }));
  for (const v of result.violations) {
    if (v.impact === "serious" || v.impact === "critical") {
      const where = v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ");
      fail(`${name}: axe ${v.id} (${v.impact}): ${v.help} at ${where}`);
    }
  }
  await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
}

async function api(path, { method = "GET", token, body, form } = {}) {
  const response = await fetch(base + path, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body ? { "content-type": "application/json" } : {}),
    },
    body: form ?? (body ? JSON.stringify(body) : undefined),
  });
  const text = await response.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: response.status, json, text };
}

function phone(cross, command, titleId) {
  const out = execFileSync("python3", ["ffi/tests/python/cross_device.py", base, "city", CARD, PASSWORD, titleId, command], {
    env: { ...process.env, PYTHONPATH: `${process.env.JIEYUE_PY_BINDINGS}/python` },
    encoding: "utf8",
  });
  return JSON.parse(out.trim().split("\n").pop());
}

async function login(page, lang) {
  await page.goto(`${base}/reader/login?lang=${lang}`);
  await page.selectOption("#library", "city");
  await page.fill("#card", CARD);
  await page.fill("#password", PASSWORD);
  await Promise.all([page.waitForLoadState("load"), page.click("form[action='/reader/login'] button[type=submit]")]);
}

// The reader's state once `done(state)` holds, across page loads (a chapter turn may
// load the next chapter's page).
async function settled(page, done, timeout = 10000) {
  const until = Date.now() + timeout;
  let last = null;
  while (Date.now() < until) {
    try {
      last = await page.evaluate(() => {
        const root = document.getElementById("reader");
        return root && root.dataset.ready === "true" ? { ...root.dataset } : null;
      });
      if (last && done(last)) return last;
    } catch { /* a new page is loading */ }
    await page.waitForTimeout(100);
  }
  throw new Error(`the reader did not settle: ${JSON.stringify(last)}`);
}

async function ready(page) {
  await page.waitForSelector("#reader[data-ready='true']", { timeout: 20000 });
  return page.evaluate(() => {
    const r = document.getElementById("reader").dataset;
    return { href: r.currentHref, page: Number(r.page), pages: Number(r.pageCount), progression: Number(r.currentProgression), first: Number(document.documentElement.dataset.firstPageMs) };
  });
}

// ---- On a phone, in Chinese: find, borrow, read, come back, follow the app ----
let readUrl;
let titleId;
{
  const ctx = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  ctx.setDefaultTimeout(15000);
  let page = await ctx.newPage();
  page.on("pageerror", (e) => fail(`reader: script error: ${e.message}`));
  await login(page, "zh-CN");
  await page.goto(`${base}/reader/?q=${encodeURIComponent("李白")}`);
  const hits = await page.$$eval("h2.book-title a", (links) => links.map((a) => ({ text: a.textContent, href: a.getAttribute("href") })));
  const volume = hits.find((h) => h.text.includes("全唐詩"));
  if (!volume) fail(`search: 李白 did not find the traditional-character volume: ${JSON.stringify(hits)}`);
  await check(page, "reader-search-zh-CN-phone", "zh-CN");
  await page.goto(base + (volume?.href ?? "/reader/"));
  titleId = page.url().split("/").pop().split("?")[0];
  await check(page, "reader-title-zh-CN-phone", "zh-CN");
  await Promise.all([page.waitForLoadState("load"), page.click("form[action$='/borrow'] button[type=submit]")]);
  const readLink = await page.getAttribute("a[href$='/read']", "href");
  if (!readLink) fail("borrow: no link to read the book");
  readUrl = base + readLink;
  await page.goto(readUrl);
  const opened = await ready(page);
  timings.push(["phone", opened.first]);
  await check(page, "reader-read-zh-CN-phone", "zh-CN");
  // Turn two pages (the end of a chapter goes on to the next one, which may load a new
  // page), then wait until the place shown is the place saved (saving is debounced).
  for (let turn = 0; turn < 2; turn += 1) {
    const before = await settled(page, () => true);
    await page.keyboard.press("ArrowRight");
    await settled(page, (r) => r.currentHref !== before.currentHref || r.page !== before.page);
  }
  await settled(page, (r) => Number(r.saves || 0) > 0 && r.savedHref === r.currentHref &&
    Math.abs(Number(r.savedProgression) - Number(r.currentProgression)) < 1e-6);
  const turned = await page.evaluate(() => ({ ...document.getElementById("reader").dataset }));
  if (Number(turned.page) < 2 && turned.currentHref === opened.href) fail(`paging: still on the first page: ${JSON.stringify(turned)}`);
  // Close the tab; a new one opens at the same place.
  await page.close();
  page = await ctx.newPage();
  await page.goto(readUrl);
  const back = await ready(page);
  if (back.href !== turned.currentHref || back.page !== Number(turned.page)) fail(`come back: opened at ${back.href} page ${back.page}, left at ${turned.currentHref} page ${turned.page}`);

  // The phone app reads the same place through the client core and reads on.
  const cross = phone(null, "follow", titleId);
  if (cross.read.href !== turned.currentHref) fail(`client core read ${cross.read.href}, the web left ${turned.currentHref}`);
  await page.goto(readUrl);
  const followed = await ready(page);
  if (followed.href !== cross.moved.href) fail(`web did not follow the app: at ${followed.href}, app at ${cross.moved.href}`);
  const wanted = cross.moved.locations?.progression ?? 0;
  if (Math.abs(followed.progression - wanted) > 0.35) fail(`web progression ${followed.progression}, app ${wanted}`);

  // The app returns the loan: the reader page says so instead of showing the book.
  phone(null, "return", titleId);
  const refused = await page.goto(readUrl);
  if (refused.status() !== 410) fail(`after return: read page answered ${refused.status()}`);
  if (!(await page.$("[data-reader-ended]"))) fail("after return: no ended message");
  await check(page, "reader-ended-zh-CN-phone", "zh-CN");
  await page.goto(`${base}/reader/shelf`);
  await check(page, "reader-shelf-zh-CN-phone", "zh-CN");
  await ctx.close();
}

// ---- A book with scripts: none of them runs, nothing reaches the session or API ----
{
  const staff = await api("/api/v1/staff/auth/login", { method: "POST", body: { username: "consortium-admin", password: "demo-staff-pass" } });
  const form = new FormData();
  form.append("file", new Blob([readFileSync("testdata/hostile/script-in-chapter.epub")], { type: "application/epub+zip" }), "script-in-chapter.epub");
  const upload = await api("/api/v1/admin/titles", { method: "POST", token: staff.json?.token, form });
  const hostileId = upload.json?.title?.id;
  if (!hostileId) fail(`hostile upload: ${upload.status} ${upload.text}`);
  await api("/api/v1/admin/lots", { method: "POST", token: staff.json?.token, body: { title_id: hostileId, copies: 2 } });
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await ctx.newPage();
  await login(page, "zh-CN");
  await page.goto(`${base}/reader/titles/${hostileId}`);
  await Promise.all([page.waitForLoadState("load"), page.click("form[action$='/borrow'] button[type=submit]")]);
  const readHref = await page.getAttribute("a[href$='/read']", "href");
  // From here on only the reading page and the book: the shelf and title pages before
  // show cover thumbnails from the catalogue API, which is theirs to do.
  const apiCalls = [];
  page.on("request", (r) => { if (r.url().includes("/api/")) apiCalls.push(r.url()); });
  await page.goto(base + readHref);
  await ready(page);
  await page.waitForTimeout(1500);
  const marks = await page.evaluate(() => {
    const frame = document.getElementById("book").contentDocument;
    const attrs = (el) => (el ? [...el.attributes].map((a) => a.name).filter((n) => n.startsWith("data-") && /ran|api|cookie/.test(n)) : []);
    return [...attrs(document.documentElement), ...attrs(frame?.documentElement), ...attrs(frame?.body), frame?.title === "JIEYUE-SCRIPT-RAN" ? "title" : ""].filter(Boolean);
  });
  if (marks.length) fail(`a script in the book ran: ${marks}`);
  if (apiCalls.length) fail(`the book called the API: ${apiCalls}`);
  const text = await page.evaluate(() => document.getElementById("book").contentDocument?.getElementById("marker")?.textContent ?? "");
  if (!text.includes("阅读器绝不能运行它们")) fail("the hostile chapter was not shown");
  await ctx.close();
}

// ---- Audio, video and page images: the players are fed decrypted bytes by Range
// requests (the browser reads the metadata, so the duration is known), pages are images.
for (const [lang, viewport] of [["zh-CN", { width: 360, height: 740 }], ["en", { width: 1280, height: 800 }]]) {
  const ctx = await browser.newContext({ viewport });
  const page = await ctx.newPage();
  await login(page, lang);
  for (const [query, name] of [["唐诗朗诵", "audio"], ["国图公开课", "video"], ["中国国家地理", "pages"]]) {
    await page.goto(`${base}/reader/?q=${encodeURIComponent(query)}&lang=${lang}`);
    const href = await page.getAttribute("h2.book-title a", "href");
    if (!href) {
      fail(`media: ${query} is not in the catalogue`);
      continue;
    }
    await page.goto(base + href);
    const borrow = await page.$("form[action$='/borrow'] button[type=submit]");
    if (borrow) await Promise.all([page.waitForLoadState("load"), borrow.click()]);
    const read = await page.getAttribute("a[href$='/read']", "href");
    if (!read) {
      fail(`media: no link to open ${query}`);
      continue;
    }
    await page.goto(base + read);
    if (name === "pages") {
      const pages = await page.$$eval(".media-pages img", (images) => images.length);
      if (pages !== 6) fail(`media: ${pages} page images instead of 6`);
      const loaded = await page
        .waitForFunction(() => {
          const first = document.querySelector(".media-pages img");
          return first && first.complete && first.naturalWidth > 0;
        }, null, { timeout: 10000 })
        .then(() => true, () => false);
      if (!loaded) fail(`media: the first page image of ${query} did not load (${lang})`);
    } else {
      const duration = await page.evaluate(
        () =>
          new Promise((resolve) => {
            const player = document.getElementById("player");
            if (!player) return resolve("no player");
            if (player.readyState >= 1) return resolve(player.duration);
            player.addEventListener("loadedmetadata", () => resolve(player.duration), { once: true });
            player.addEventListener("error", () => resolve(`error ${player.error && player.error.code}`), { once: true });
            setTimeout(() => resolve("timeout"), 10000);
          }),
      );
      if (!(typeof duration === "number" && duration > 1)) fail(`media: ${name} of ${query} did not load in the player (${lang}): ${duration}`);
    }
    await check(page, `reader-media-${name}-${lang}-${viewport.width}`, lang);
  }
  await ctx.close();
}

// ---- Desktop, Chinese and English: every page, and the first page's time ----
for (const lang of ["zh-CN", "en"]) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await ctx.newPage();
  await login(page, lang);
  await page.goto(`${base}/reader/?q=${encodeURIComponent("论语")}&lang=${lang}`);
  await check(page, `reader-search-${lang}-desktop`, lang);
  const first = await page.getAttribute("h2.book-title a", "href");
  await page.goto(base + first);
  await check(page, `reader-title-${lang}-desktop`, lang);
  const borrow = await page.$("form[action$='/borrow'] button[type=submit]");
  if (borrow) await Promise.all([page.waitForLoadState("load"), borrow.click()]);
  const read = await page.getAttribute("a[href$='/read']", "href");
  await page.goto(base + read);
  const opened = await ready(page);
  timings.push([`desktop-${lang}`, opened.first]);
  await check(page, `reader-read-${lang}-desktop`, lang);
  await page.goto(`${base}/reader/shelf`);
  await check(page, `reader-shelf-${lang}-desktop`, lang);
  if (lang === "en") {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const [path, name] of [["/reader/shelf", "shelf"], [read, "read"], ["/reader/?q=%E8%AE%BA%E8%AF%AD", "search"], [first, "title"]]) {
      await page.goto(base + path);
      if (name === "read") await ready(page);
      await check(page, `reader-${name}-en-phone`, "en");
    }
  }
  await ctx.close();
}

await browser.close();
console.log(`reader first page (ms after navigation start): ${timings.map(([k, v]) => `${k} ${v}`).join(", ")}`);
if (failures.length) {
  console.error(`${failures.length} failure(s)`);
  process.exit(1);
}
console.log(`reader: ${checked} screens checked with axe, screenshots in ${shots}`);
