// solod pages: helpers both /app and /admin use. Loaded before the page's own
// script; defines globals only.
'use strict';

/** "Chrome 126 on Windows"-style summary of a User-Agent, or '' when not recognised. */
function summarize_agent(ua) {
  if (!ua) return '';
  const browsers = [
    [/Edg\/(\d+)/, 'Edge'],
    [/OPR\/(\d+)/, 'Opera'],
    [/Firefox\/(\d+)/, 'Firefox'],
    [/Chromium\/(\d+)/, 'Chromium'],
    [/HeadlessChrome\/(\d+)/, 'Headless Chrome'],
    [/CriOS\/(\d+)/, 'Chrome'],
    [/Chrome\/(\d+)/, 'Chrome'],
    [/Version\/(\d+)[\d.]* .*Safari\//, 'Safari'],
    [/^curl\/([\d.]+)/, 'curl'],
  ];
  const systems = [
    [/Android/, 'Android'],
    [/iPhone|iPad|iPod/, 'iOS'],
    [/Windows/, 'Windows'],
    [/Mac OS X|Macintosh/, 'macOS'],
    [/CrOS/, 'ChromeOS'],
    [/Linux/, 'Linux'],
  ];
  let name = '';
  for (const [re, label] of browsers) {
    const m = ua.match(re);
    if (m) { name = `${label} ${m[1]}`; break; }
  }
  let os = '';
  for (const [re, label] of systems) {
    if (re.test(ua)) { os = label; break; }
  }
  if (!name) return '';
  return os ? `${name} on ${os}` : name;
}
