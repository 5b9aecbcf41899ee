// Opens the server's pages in headless Chromium (Debian's, through playwright-core) at a
// phone's and a desktop's width, in Chinese and in English; checks each with axe-core
// (no violations allowed), that nothing overflows the phone's width, and that the page
// is in the expected language; writes a screenshot of each.
//
//   JIEYUE_BROWSER_NODE=DIR node tests/browser/pages.mjs BASE_URL SCREENSHOT_DIR
import { createRequire } from "node:module";
import { readFileSync, mkdirSync } from "node:fs";

// The packages live outside the repository (scripts/browser-check installs them).
const require = createRequire(`${process.env.JIEYUE_BROWSER_NODE}/package.json`);
const { chromium } = require("playwright-core");
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const [base, shots] = process.argv.slice(2);
mkdirSync(shots, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox"],
});
const failures = [];
for (const [lang, accept, heading] of [
  ["zh-CN", "zh-CN,zh;q=0.9", "借阅 · 电子书借阅服务器"],
  ["en", "en-GB,en;q=0.9", "Jieyue e-book lending server"],
]) {
  for (const [device, width, height] of [["phone", 360, 740], ["desktop", 1280, 800]]) {
    const context = await browser.newContext({
      viewport: { width, height },
      extraHTTPHeaders: { "Accept-Language": accept },
    });
    const page = await context.newPage();
    const errors = [];
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    const response = await page.goto(base + "/");
    const name = `home-${lang}-${device}`;
    if (response.status() !== 200) failures.push(`${name}: HTTP ${response.status()}`);
    if ((await page.getAttribute("html", "lang")) !== lang) failures.push(`${name}: html lang`);
    if ((await page.textContent("h1")).trim() !== heading) failures.push(`${name}: heading`);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    if (overflow > 0) failures.push(`${name}: ${overflow}px wider than the screen`);
    // axe is injected through the DevTools protocol: the page's CSP allows no script.
    await page.evaluate(axeSource);
    const result = await page.evaluate(() => axe.run(document, { resultTypes: ["violations"] }));
    for (const v of result.violations) failures.push(`${name}: axe ${v.id}: ${v.help}`);
    if (errors.length) failures.push(`${name}: console errors: ${errors.join("; ")}`);
    await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
    await context.close();
  }
}
await browser.close();
if (failures.length) {
  console.error(failures.join("\n"));
  process.exit(1);
}
console.log(`pages: 4 views checked with axe, screenshots in ${shots}`);
