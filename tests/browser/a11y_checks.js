// Checks axe-core does not make, evaluated in the page by tests/browser/a11y.py.
// Returns a list of {rule, target, detail}:
//   text-contrast   text (a text node, or a ::before label) under 4.5:1, or 3:1 when large,
//                   that axe did not judge: axe leaves one-character text (common in Chinese: 户,
//                   人, 是) undecided, and does not look at generated content;
//   idref           an aria-describedby, aria-labelledby or label "for" naming an id the page
//                   lacks (axe only asks for a review when every id is missing);
//   ui-contrast     an input, select or textarea whose border (or own background) does not reach
//                   3:1 against what is behind it (WCAG 1.4.11, non-text contrast);
//   focus-visible   a focusable control with no focus indicator, or one under 3:1 (WCAG 2.4.7);
//   wider-than-viewport  an element that sticks out of the viewport sideways;
//   text-overflow   text that runs out of its own box (a long number or Chinese word that
//                   does not wrap), whether or not the page then scrolls.
(axeFlagged) => {
  const found = [];
  const viewport = document.documentElement.clientWidth;

  function describe(el) {
    let s = el.tagName.toLowerCase();
    if (el.id) return s + "#" + el.id;
    if (el.getAttribute("name")) s += `[name="${el.getAttribute("name")}"]`;
    else if (el.classList.length) s += "." + [...el.classList].join(".");
    const parent = el.parentElement;
    if (parent && parent !== document.body && !el.getAttribute("name")) {
      const p = parent.id ? "#" + parent.id : parent.tagName.toLowerCase() + (parent.classList.length ? "." + [...parent.classList].join(".") : "");
      s = p + " > " + s;
    }
    const text = (el.innerText || el.value || "").trim().replace(/\s+/g, " ").slice(0, 30);
    return text ? `${s} "${text}"` : s;
  }
  function report(rule, el, detail) { found.push({ rule, target: describe(el), detail }); }

  function parse(color) {
    const m = color.match(/rgba?\(([^)]+)\)/);
    if (!m) return null;
    const parts = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
    return { r: parts[0], g: parts[1], b: parts[2], a: parts.length > 3 ? parts[3] : 1 };
  }
  function over(top, below) {
    const a = top.a;
    return { r: top.r * a + below.r * (1 - a), g: top.g * a + below.g * (1 - a), b: top.b * a + below.b * (1 - a), a: 1 };
  }
  function luminance(c) {
    const f = (v) => { v /= 255; return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  }
  function contrast(a, b) {
    const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05);
  }
  // The colour behind an element: its ancestors' backgrounds composed over white.
  function backgroundOf(el) {
    const layers = [];
    for (let node = el; node && node.nodeType === 1; node = node.parentElement) {
      const c = parse(getComputedStyle(node).backgroundColor);
      if (c && c.a > 0) { layers.push(c); if (c.a >= 1) break; }
    }
    let color = { r: 255, g: 255, b: 255, a: 1 };
    for (const layer of layers.reverse()) color = over(layer, color);
    return color;
  }
  function visible(el) {
    if (!el.getClientRects().length) return false;
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || style.opacity === "0") return false;
    const r = el.getBoundingClientRect();
    return r.width > 1 && r.height > 1;
  }
  function visuallyHidden(el) {
    for (let node = el; node && node.nodeType === 1; node = node.parentElement) {
      const style = getComputedStyle(node);
      if (style.clip !== "auto" && style.position === "absolute") return true;
      if (style.clipPath && style.clipPath !== "none") return true;
    }
    return false;
  }

  // Contrast of text axe left alone.
  const skip = new Set();
  for (const selector of axeFlagged) { try { document.querySelectorAll(selector).forEach((e) => skip.add(e)); } catch (e) {} }
  function opacityOf(el) {
    let o = 1;
    for (let node = el; node && node.nodeType === 1; node = node.parentElement) o *= parseFloat(getComputedStyle(node).opacity);
    return o;
  }
  function large(style) {
    const size = parseFloat(style.fontSize);
    return size >= 24 || (size >= 18.66 && parseInt(style.fontWeight, 10) >= 700);
  }
  function checkText(el, style, text, where) {
    const fg = parse(style.color);
    if (!fg) return;
    const bg = backgroundOf(el);
    const color = over({ ...fg, a: fg.a * opacityOf(el) }, bg);
    const ratio = contrast(color, bg);
    const needed = large(style) ? 3 : 4.5;
    if (ratio < needed) report("text-contrast", el, `${where}"${text.slice(0, 20)}" ${ratio.toFixed(2)}:1 (needs ${needed}:1)`);
  }
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const seen = new Set();
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    const text = node.textContent.trim();
    if (!text || !el || seen.has(el) || skip.has(el) || ["SCRIPT", "STYLE", "OPTION"].includes(el.tagName)) continue;
    seen.add(el);
    if (!visible(el) || visuallyHidden(el)) continue;
    checkText(el, getComputedStyle(el), text, "");
  }
  for (const el of document.body.querySelectorAll("*")) {
    const before = getComputedStyle(el, "::before");
    const content = before.content;
    if (!content || content === "none" || content === "normal" || content === '""') continue;
    if (!visible(el) || visuallyHidden(el) || before.display === "none") continue;
    checkText(el, before, content.replace(/^"|"$/g, ""), "::before ");
  }

  // References to ids that exist.
  for (const el of document.querySelectorAll("[aria-describedby], [aria-labelledby], [aria-controls], label[for]")) {
    for (const attr of ["aria-describedby", "aria-labelledby", "aria-controls", "for"]) {
      const ids = (el.getAttribute(attr) || "").split(/\s+/).filter(Boolean);
      const missing = ids.filter((id) => !document.getElementById(id));
      if (missing.length) report("idref", el, `${attr} names ${missing.join(", ")}, which the page lacks`);
    }
  }

  // Non-text contrast of form fields.
  const fields = document.querySelectorAll(
    "input:not([type=hidden]):not([type=checkbox]):not([type=radio]):not([type=submit]):not([type=button]), select, textarea"
  );
  for (const el of fields) {
    if (!visible(el)) continue;
    const style = getComputedStyle(el);
    const behind = backgroundOf(el.parentElement);
    const own = over(parse(style.backgroundColor) || { r: 255, g: 255, b: 255, a: 0 }, behind);
    const width = parseFloat(style.borderBottomWidth);
    const border = over(parse(style.borderBottomColor), own);
    const best = Math.max(width >= 1 ? Math.min(contrast(border, behind), contrast(border, own)) : 0, contrast(own, behind));
    if (best < 3) report("ui-contrast", el, `field boundary ${best.toFixed(2)}:1 (needs 3:1)`);
  }

  // A visible focus indicator on every focusable control.
  const focusables = document.querySelectorAll(
    "a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]:not([tabindex='-1'])"
  );
  const previous = document.activeElement;
  for (const el of focusables) {
    if (el.disabled || (!visible(el) && !el.classList.contains("skip"))) continue;
    const before = getComputedStyle(el);
    const was = { outline: before.outlineStyle + before.outlineWidth + before.outlineColor, shadow: before.boxShadow,
      bg: before.backgroundColor, border: before.borderColor };
    el.focus();
    if (document.activeElement !== el) continue;
    const now = getComputedStyle(el);
    const outlined = now.outlineStyle !== "none" && parseFloat(now.outlineWidth) >= 2;
    const shadowed = now.boxShadow !== "none" && now.boxShadow !== was.shadow;
    if (!outlined && !shadowed) {
      report("focus-visible", el, "no outline or ring when focused");
    } else if (outlined) {
      const ring = parse(now.outlineColor);
      // A ring drawn inside the control (a negative offset) lies on the control's own background.
      const inside = parseFloat(now.outlineOffset) + parseFloat(now.outlineWidth) <= 0;
      const behind = backgroundOf(inside ? el : el.parentElement);
      const ratio = contrast(over(ring, behind), behind);
      if (ratio < 3) report("focus-visible", el, `focus outline ${ratio.toFixed(2)}:1 against the background (needs 3:1)`);
    }
    el.blur();
  }
  if (previous && previous.focus) previous.focus();

  // Nothing sticks out sideways; no text runs out of its box.
  for (const el of document.body.querySelectorAll("*")) {
    if (!visible(el) || visuallyHidden(el)) continue;
    const r = el.getBoundingClientRect();
    if (r.right <= 0) continue; // moved off-screen on purpose (the skip link)
    if (r.right > viewport + 1 || r.left < -1) {
      let clipped = false;
      for (let node = el.parentElement; node && node !== document.body; node = node.parentElement) {
        const ox = getComputedStyle(node).overflowX;
        if (ox !== "visible") { clipped = true; break; }
      }
      if (!clipped) report("wider-than-viewport", el, `spans ${Math.round(r.left)}–${Math.round(r.right)}px of ${viewport}px`);
    }
    if (el instanceof SVGElement) continue; // drawn in the SVG's own coordinates, scaled with it
    const style = getComputedStyle(el);
    if (style.display === "inline" || style.display === "contents" || style.overflowX !== "visible") continue;
    if (["INPUT", "SELECT", "TEXTAREA", "BUTTON", "IMG", "SVG", "CANVAS"].includes(el.tagName)) continue;
    const ownText = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (ownText && el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1) {
      report("text-overflow", el, `text ${el.scrollWidth}px wide in a ${el.clientWidth}px box`);
    }
  }
  return found;
}
