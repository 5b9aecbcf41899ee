// The librarians' console in headless Chromium (Debian's, through playwright-core), as a
// librarian uses it on the demo consortium: log in, upload EPUBs (one refused), buy
// copies shared with a county library, set a lending rule, find a reader, revoke a
// loan with a reason, download the shared-use CSV. The consortium admin invites a
// member, enrols the server with itself as its hub with the code, and publishes a
// collection on the distribution page. Then: a county librarian cannot
// see the city's readers; a form posted from another site is refused; the main screens
// work with JavaScript off. Every screen is checked with axe-core (no violation of
// serious or critical impact), must not scroll sideways at 360 px, and is
// photographed (phone and desktop, Chinese and English) into SCREENSHOT_DIR.
//
//   JIEYUE_BROWSER_NODE=DIR node tests/browser/console.mjs BASE_URL SCREENSHOT_DIR
import { createRequire } from "node:module";
import { readFileSync, mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";

const require = createRequire(`${process.env.JIEYUE_BROWSER_NODE}/package.json`);
const { chromium } = require("playwright-core");
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const [base, shots] = process.argv.slice(2);
mkdirSync(shots, { recursive: true });
const STAFF_PASSWORD = "demo-staff-pass";
const READER_PASSWORD = "demo-reader-pass";

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

async function context(options = {}) {
  const ctx = await browser.newContext({
    viewport: { width: 1280, height: 800 },
    acceptDownloads: true,
    ...options,
  });
  ctx.setDefaultTimeout(15000);
  return ctx;
}

function watch(page, label) {
  page.on("console", (m) => {
    if (m.type() === "error") fail(`${label}: console error: ${m.text()}`);
  });
  page.on("pageerror", (e) => fail(`${label}: script error: ${e.message}`));
}

// axe (serious and critical), sideways overflow at the current width, the page's
// language, and a screenshot.
async function check(page, name, lang) {
  checked += 1;
  if (lang && (await page.getAttribute("html", "lang")) !== lang) fail(`${name}: html lang is not ${lang}`);
  const overflow = await page.evaluate(
    () => document.documentElement.scrollWidth - window.innerWidth,
  );
  if (overflow > 0) fail(`${name}: ${overflow}px wider than the screen`);
  // Injected through the DevTools protocol: the page's CSP allows only its own scripts.
  if (!(await page.evaluate(() => typeof window.axe !== "undefined"))) {
    await page.evaluate(axeSource);
  }
  const result = await page.evaluate(() =>
    axe.run(document, { resultTypes: ["violations"] }),
  );
  for (const v of result.violations) {
    if (v.impact === "serious" || v.impact === "critical") {
      const where = v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ");
      fail(`${name}: axe ${v.id} (${v.impact}): ${v.help} at ${where}`);
    }
  }
  await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
}

async function login(page, username, lang = "zh-CN") {
  await page.goto(`${base}/console/?lang=${lang}`);
  if (!page.url().includes("/console/login")) fail(`${username}: not sent to the login page`);
  await page.fill("#username", username);
  await page.fill("#password", STAFF_PASSWORD);
  await Promise.all([page.waitForURL(/\/console\/$/), page.click("form[action='/console/login'] button")]);
}

async function api(path, { method = "GET", token, body } = {}) {
  const response = await fetch(base + path, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body ? { "content-type": "application/json" } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: response.status, json, text };
}

// A reader of the city library borrows the demo's book through the API, so there is a
// loan to revoke.
const reader = await api("/api/v1/auth/login", {
  method: "POST",
  body: { library_code: "city", card_number: "C0001", password: READER_PASSWORD },
});
if (reader.status !== 200) fail(`reader login: ${reader.status} ${reader.text}`);
const catalogue = await api("/api/v1/catalog");
const firstTitle = catalogue.json?.items?.[0]?.id;
const loan = await api("/api/v1/me/loans", {
  method: "POST",
  token: reader.json?.token,
  body: { title_id: firstTitle, request_id: randomUUID() },
});
if (loan.status !== 201) fail(`borrowing: ${loan.status} ${loan.text}`);

// ---- A city manager's day, on a desktop, in Chinese ----
{
  const ctx = await context();
  const page = await ctx.newPage();
  watch(page, "manager");
  await page.goto(`${base}/console/login?lang=zh-CN`);
  await check(page, "console-login-zh-CN-desktop", "zh-CN");
  await login(page, "city-manager");
  await check(page, "console-dashboard-zh-CN-desktop", "zh-CN");

  // Upload two files in one form: a real EPUB and one that is not.
  const broken = join(tmpdir(), "不是电子书.epub");
  writeFileSync(broken, "this is not a zip archive");
  await page.goto(`${base}/console/titles/upload`);
  await check(page, "console-upload-zh-CN-desktop", "zh-CN");
  if (!(await page.$("progress[data-upload-progress]"))) fail("upload: no progress element");
  await page.setInputFiles("input[type=file]", ["testdata/corpus/zh/mengzi.epub", broken]);
  await page.click("form[enctype='multipart/form-data'] button[type=submit]");
  await page.waitForSelector("[data-upload-result]");
  const results = await page.$$eval("[data-upload-result]", (rows) =>
    rows.map((r) => ({ state: r.getAttribute("data-upload-result"), text: r.textContent })),
  );
  const done = results.find((r) => r.state === "catalogued");
  const refused = results.find((r) => r.state === "refused");
  if (!done || !done.text.includes("mengzi")) fail(`upload: mengzi.epub not catalogued: ${JSON.stringify(results)}`);
  if (!refused || !refused.text.includes("不是电子书.epub")) fail(`upload: the broken file is not named as refused: ${JSON.stringify(results)}`);
  await check(page, "console-upload-results-zh-CN-desktop", "zh-CN");

  // Find the new title and buy two copies shared with 淳安.
  await page.goto(`${base}/console/titles`);
  await page.fill("input[name=q]", "孟子");
  await Promise.all([page.waitForURL(/q=/), page.click("form[role=search] button[type=submit]")]);
  await check(page, "console-catalogue-zh-CN-desktop", "zh-CN");
  await Promise.all([page.waitForURL(/\/console\/titles\/[0-9a-f-]{36}$/), page.click("#results a[href^='/console/titles/']")]);
  const titleUrl = page.url();
  await check(page, "console-title-zh-CN-desktop", "zh-CN");
  await page.goto(`${titleUrl}/copies`);
  const buy = page.locator("form[data-form='buy']");
  await buy.locator("input[name=copies]").fill("2");
  await buy.getByLabel("淳安县图书馆").check();
  await Promise.all([page.waitForLoadState("load"), buy.locator("button[type=submit]").click()]);
  await page.waitForSelector("[data-lot]");
  const lots = await page.$$eval("[data-lot]", (rows) => rows.map((r) => r.textContent));
  if (!lots.some((t) => t.includes("淳安") && /\b2\b/.test(t))) fail(`buy: no lot of 2 shared with 淳安: ${lots}`);
  await check(page, "console-copies-zh-CN-desktop", "zh-CN");

  // Set a rule: the city's adult readers borrow for 21 days.
  await page.goto(`${base}/console/rules`);
  await check(page, "console-rules-zh-CN-desktop", "zh-CN");
  const add = page.locator("form[data-form='rule-new']");
  await add.locator("select[name=library]").selectOption({ label: "杭州市图书馆" });
  await add.locator("input[name=category]").fill("adult");
  await add.locator("input[name=loan_days_max]").fill("28");
  await add.locator("input[name=loan_days_default]").fill("21");
  await Promise.all([page.waitForLoadState("load"), add.locator("button[type=submit]").click()]);
  const ruleRows = await page.$$eval("[data-rule]", (rows) => rows.map((r) => r.textContent + JSON.stringify([...r.querySelectorAll("input")].map((i) => i.value))));
  if (!ruleRows.some((t) => t.includes("adult") && t.includes("21"))) fail(`rules: the new rule is not listed: ${ruleRows}`);

  // Find the reader by name and revoke the loan with a reason.
  await page.goto(`${base}/console/patrons`);
  await page.fill("input[name=q]", "王小明");
  await Promise.all([page.waitForURL(/q=/), page.click("form[role=search] button[type=submit]")]);
  await check(page, "console-patrons-zh-CN-desktop", "zh-CN");
  await Promise.all([page.waitForURL(/\/console\/patrons\/[0-9a-f-]{36}$/), page.click("main a[href^='/console/patrons/']:has-text('王小明')")]);
  const patronUrl = page.url();
  await check(page, "console-patron-zh-CN-desktop", "zh-CN");
  const revoke = page.locator("form[action$='/revoke']").first();
  await revoke.locator("[name=reason]").fill("读者证挂失，停借");
  await Promise.all([page.waitForLoadState("load"), revoke.locator("button[type=submit]").click()]);
  const loanNow = await api(`/api/v1/me/loans?all=true`, { token: reader.json?.token });
  const revoked = (loanNow.json ?? []).find((l) => l.id === loan.json?.id);
  if (revoked?.state !== "revoked") fail(`revoke: the loan is not revoked: ${loanNow.text}`);
  const told = await api(`/api/v1/me/notifications`, { token: reader.json?.token });
  if (!told.text.includes("读者证挂失，停借")) fail(`revoke: the reader was not told the reason: ${told.text}`);

  // The cost-sharing statement as CSV.
  await page.goto(`${base}/console/reports/shared-use`);
  await check(page, "console-report-shared-zh-CN-desktop", "zh-CN");
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.click("a[href*='format=csv']"),
  ]);
  const csv = readFileSync(await download.path(), "utf8");
  if (!/library/i.test(csv.split("\n")[0]) && !/图书馆/.test(csv.split("\n")[0])) fail(`csv: no header row: ${csv.slice(0, 200)}`);
  if (!download.suggestedFilename().endsWith(".csv")) fail(`csv: file name ${download.suggestedFilename()}`);

  for (const [path, name] of [["/console/holds", "holds"], ["/console/reports", "reports"], ["/console/audit", "audit"], ["/console/password", "password"]]) {
    await page.goto(base + path);
    await check(page, `console-${name}-zh-CN-desktop`, "zh-CN");
  }

  // Phone width, Chinese and English: the dashboard and the reader's page.
  for (const lang of ["zh-CN", "en"]) {
    await page.setViewportSize({ width: 360, height: 740 });
    await page.goto(`${base}/console/?lang=${lang}`);
    await check(page, `console-dashboard-${lang}-phone`, lang);
    await page.goto(patronUrl);
    await check(page, `console-patron-${lang}-phone`, lang);
    await page.goto(`${base}/console/titles`);
    await check(page, `console-catalogue-${lang}-phone`, lang);
    await page.goto(`${base}/console/rules`);
    await check(page, `console-rules-${lang}-phone`, lang);
  }
  // English on the desktop: every main screen.
  await page.setViewportSize({ width: 1280, height: 800 });
  for (const [path, name] of [["/console/", "dashboard"], ["/console/titles", "catalogue"], [titleUrl.replace(base, ""), "title"], ["/console/patrons?q=王", "patrons"], ["/console/holds", "holds"], ["/console/rules", "rules"], ["/console/reports/loans", "report-loans"], ["/console/audit", "audit"]]) {
    await page.goto(base + path);
    await check(page, `console-${name}-en-desktop`, "en");
  }
  await page.goto(`${base}/console/?lang=zh-CN`);

  // ---- A county librarian cannot see the city's readers ----
  const county = await context();
  const cpage = await county.newPage();
  await login(cpage, "chunan-librarian");
  await cpage.goto(`${base}/console/patrons?q=${encodeURIComponent("王小明")}`);
  const found = await cpage.$$eval("#patron-results a", (links) => links.map((a) => a.textContent));
  if (found.some((t) => t.includes("王小明"))) fail(`scope: the county librarian found the city's reader: ${found}`);
  // The one page where a 404 is the point (Chromium logs it as a console error).
  const foreign = await cpage.goto(patronUrl);
  if (foreign.status() !== 404) fail(`scope: the city's reader's page answered ${foreign.status()} to the county`);
  await county.close();

  // ---- A form on another site posting into the console is refused ----
  const evil = createServer((req, res) => {
    res.writeHead(200, { "content-type": "text/html" });
    res.end(`<!doctype html><title>evil</title><form method="post" action="${base}/console/logout">
      <input name="csrf" value="guessed"><button id="go">win a prize</button></form>`);
  });
  await new Promise((resolve) => evil.listen(0, "localhost", resolve));
  const evilUrl = `http://localhost:${evil.address().port}/`;
  const attack = await ctx.newPage();
  await attack.goto(evilUrl);
  const [attackResponse] = await Promise.all([
    attack.waitForResponse((r) => r.url().startsWith(`${base}/console/logout`)),
    attack.click("#go"),
  ]);
  if (attackResponse.status() !== 403) fail(`cross-site POST answered ${attackResponse.status()}, not 403`);
  evil.close();
  // Still logged in: the attack ended nothing.
  const still = await page.goto(`${base}/console/`);
  if (!page.url().endsWith("/console/") || still.status() !== 200) fail("cross-site POST logged the librarian out");
  await ctx.close();
}

// ---- The consortium admin distributes a collection (this server is its own hub) ----
{
  const ctx = await context();
  const page = await ctx.newPage();
  watch(page, "admin");
  await page.goto(`${base}/console/login?lang=zh-CN`);
  await login(page, "consortium-admin");
  await page.goto(`${base}/console/distribution`);
  await check(page, "console-distribution-empty-zh-CN-desktop", "zh-CN");
  // Invite a member: its code is shown once, on the answer.
  const invite = page.locator("form[data-form='invite']");
  await invite.locator("input[name=name]").fill("淳安县图书馆");
  await invite.locator("input[name=region]").fill("浙江省");
  await Promise.all([page.waitForLoadState("load"), invite.locator("button[type=submit]").click()]);
  const code = (await page.textContent("[data-enrolment-code]"))?.trim() ?? "";
  if (!/^[0-9a-f-]{36}\.\S+$/.test(code)) fail(`distribution: no enrolment code on the answer: ${code}`);
  await check(page, "console-distribution-invited-zh-CN-desktop", "zh-CN");
  await page.setViewportSize({ width: 360, height: 740 });
  await check(page, "console-distribution-invited-zh-CN-phone", "zh-CN");
  await page.setViewportSize({ width: 1280, height: 800 });
  // Enrol this server with the hub (itself) with the code.
  await page.goto(`${base}/console/distribution`);
  if ((await page.content()).includes(code.split(".")[1])) fail("distribution: the code is shown again");
  const join = page.locator("form[data-form='join']");
  await join.locator("input[name=hub_url]").fill(base);
  await join.locator("input[name=code]").fill(code);
  await Promise.all([page.waitForURL(/done=joined/), join.locator("button[type=submit]").click()]);
  if ((await page.$$("[data-hub]")).length !== 1) fail("distribution: the hub is not listed after enrolling");
  // A collection of every title in the catalogue, published.
  const create = page.locator("form[data-form='collection']");
  await create.locator("input[name=slug]").fill("jiceng-2026");
  await create.locator("input[name=name]").fill("基层图书馆数字资源提升 2026");
  await create.locator("input[name=copies]").fill("2");
  await Promise.all([page.waitForURL(/done=collection-created/), create.locator("button[type=submit]").click()]);
  await page.goto(`${base}/console/distribution/collections/jiceng-2026`);
  const titles = page.locator("form[data-form='titles']");
  await titles.locator("input[name=all]").check();
  await Promise.all([page.waitForURL(/done=titles-saved/), titles.locator("button[type=submit]").click()]);
  await Promise.all([
    page.waitForURL(/done=published/),
    page.click("[data-collection='jiceng-2026'] form[action$='/versions'] button"),
  ]);
  const row = (await page.textContent("[data-collection='jiceng-2026']")) ?? "";
  if (!row.includes("第 1 版")) fail(`distribution: version 1 is not in the table: ${row}`);
  await check(page, "console-distribution-zh-CN-desktop", "zh-CN");
  await page.goto(`${base}/console/distribution/collections/jiceng-2026`);
  await check(page, "console-distribution-collection-zh-CN-desktop", "zh-CN");
  for (const lang of ["zh-CN", "en"]) {
    await page.setViewportSize({ width: 360, height: 740 });
    await page.goto(`${base}/console/distribution?lang=${lang}`);
    await check(page, `console-distribution-${lang}-phone`, lang);
    await page.goto(`${base}/console/distribution/collections/jiceng-2026`);
    await check(page, `console-distribution-collection-${lang}-phone`, lang);
    const member = await page.goto(`${base}/console/distribution`);
    if (member.status() !== 200) fail(`distribution: ${member.status()}`);
    await page.click("[data-member] a[href$='/remove']");
    await check(page, `console-distribution-remove-${lang}-phone`, lang);
  }
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.goto(`${base}/console/distribution?lang=en`);
  await check(page, "console-distribution-en-desktop", "en");
  await page.goto(`${base}/console/?lang=zh-CN`);
  await ctx.close();
}

// ---- Without JavaScript: log in, search readers and titles, open a reader ----
{
  const ctx = await context({ javaScriptEnabled: false, viewport: { width: 360, height: 740 } });
  const page = await ctx.newPage();
  await login(page, "city-librarian");
  await page.goto(`${base}/console/patrons`);
  await page.fill("input[name=q]", "C0002");
  await Promise.all([page.waitForURL(/q=C0002/), page.click("form[role=search] button[type=submit]")]);
  if (!(await page.textContent("main")).includes("李华")) fail("no-JS: searching readers by card found nothing");
  await page.goto(`${base}/console/titles`);
  await page.fill("input[name=q]", "论语");
  await Promise.all([page.waitForURL(/q=/), page.click("form[role=search] button[type=submit]")]);
  if ((await page.$$("#results a[href^='/console/titles/']")).length < 1) fail("no-JS: searching the catalogue found nothing");
  await page.goto(`${base}/console/holds`);
  if ((await page.textContent("h1")).trim() === "") fail("no-JS: the holds page has no heading");
  await ctx.close();
}

await browser.close();
if (failures.length) {
  console.error(`${failures.length} failure(s)`);
  process.exit(1);
}
console.log(`console: ${checked} screens checked with axe, screenshots in ${shots}`);
