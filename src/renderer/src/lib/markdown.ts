import DOMPurify from "dompurify";
import hljs from "highlight.js/lib/core";
import bash from "highlight.js/lib/languages/bash";
import c from "highlight.js/lib/languages/c";
import cpp from "highlight.js/lib/languages/cpp";
import css from "highlight.js/lib/languages/css";
import go from "highlight.js/lib/languages/go";
import java from "highlight.js/lib/languages/java";
import javascript from "highlight.js/lib/languages/javascript";
import json from "highlight.js/lib/languages/json";
import markdownLanguage from "highlight.js/lib/languages/markdown";
import python from "highlight.js/lib/languages/python";
import rust from "highlight.js/lib/languages/rust";
import sql from "highlight.js/lib/languages/sql";
import typescript from "highlight.js/lib/languages/typescript";
import xml from "highlight.js/lib/languages/xml";
import yaml from "highlight.js/lib/languages/yaml";
import katex from "katex";
import { Marked, type TokenizerAndRendererExtension, type Tokens } from "marked";
import markedKatex from "marked-katex-extension";

const LANGUAGES = { bash, c, cpp, css, go, java, javascript, json, markdown: markdownLanguage, python, rust, sql, typescript, xml, yaml };
for (const [name, language] of Object.entries(LANGUAGES)) hljs.registerLanguage(name, language);
hljs.registerAliases(["sh", "shell", "zsh", "console"], { languageName: "bash" });
hljs.registerAliases(["js", "jsx", "mjs", "cjs"], { languageName: "javascript" });
hljs.registerAliases(["ts", "tsx"], { languageName: "typescript" });
hljs.registerAliases(["py"], { languageName: "python" });
hljs.registerAliases(["html", "svg"], { languageName: "xml" });
hljs.registerAliases(["yml"], { languageName: "yaml" });
hljs.registerAliases(["rs"], { languageName: "rust" });
hljs.registerAliases(["h", "hpp", "cc"], { languageName: "cpp" });

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

const marked = new Marked({ gfm: true, breaks: false, async: false });
marked.use({
  renderer: {
    code({ text, lang }: Tokens.Code): string {
      const language = lang?.trim().split(/\s+/)[0]?.toLowerCase() ?? "";
      const known = language !== "" && hljs.getLanguage(language) !== undefined;
      const body = known ? hljs.highlight(text, { language, ignoreIllegals: true }).value : escapeHtml(text);
      const label = language ? `<span class="code-language">${escapeHtml(language)}</span>` : "";
      // The bar also takes the copy button, which MarkdownView adds after sanitizing.
      return `<div class="code-block"><div class="code-block-bar">${label}</div><pre><code class="hljs${known ? ` language-${escapeHtml(language)}` : ""}">${body}</code></pre></div>`;
    },
  },
});

/**
 * A per-page secret on the wrapper of every formula KaTeX wrote: only inside it do inline styles
 * (KaTeX's own layout: heights, struts, offsets) survive sanitizing. Model output cannot know it,
 * so a `style` in the model's own HTML is still removed. getRandomValues works on plain http too.
 */
const MATH_MARK = Array.from(crypto.getRandomValues(new Uint8Array(16)), (byte) => byte.toString(16).padStart(2, "0")).join("");

/** TeX to KaTeX's HTML + MathML; a bad formula shows as KaTeX's red error text instead of throwing. */
function renderMath(tex: string, displayMode: boolean): string {
  const html = katex.renderToString(tex, { displayMode, throwOnError: false, output: "htmlAndMathml", trust: false, strict: "ignore" });
  return `<span data-math="${MATH_MARK}">${html}</span>`;
}

interface MathToken extends Tokens.Generic {
  text: string;
  displayMode: boolean;
}

/** `\(…\)` inline and `\[…\]` display formulas (LaTeX delimiters, which marked-katex-extension leaves out). */
const LATEX_DELIMITERS: TokenizerAndRendererExtension[] = [
  {
    name: "latexInlineMath",
    level: "inline",
    start: (src) => src.match(/\\[([]/)?.index,
    tokenizer(src) {
      const match = /^\\\(((?:\\[^)]|[^\\])+?)\\\)|^\\\[((?:\\[^\]]|[^\\])+?)\\\]/.exec(src);
      if (!match) return undefined;
      return { type: "latexInlineMath", raw: match[0], text: (match[1] ?? match[2] ?? "").trim(), displayMode: match[2] !== undefined };
    },
    renderer: (token) => renderMath((token as MathToken).text, (token as MathToken).displayMode),
  },
  {
    name: "latexBlockMath",
    level: "block",
    tokenizer(src) {
      const match = /^\\\[\s*\n?((?:\\[^\]]|[^\\])+?)\n?\s*\\\](?:\n|$)/.exec(src);
      if (!match) return undefined;
      return { type: "latexBlockMath", raw: match[0], text: (match[1] ?? "").trim(), displayMode: true };
    },
    renderer: (token) => `${renderMath((token as MathToken).text, true)}\n`,
  },
];

// `$…$` and `$$…$$` come from marked-katex-extension's tokenizers; its renderers are replaced by
// renderMath (same token names: marked tries the later renderer first) so every formula is marked.
marked.use(markedKatex({ throwOnError: false }), { extensions: LATEX_DELIMITERS });
marked.use({
  extensions: ["inlineKatex", "blockKatex"].map((name) => ({
    name,
    renderer: (token: Tokens.Generic) => renderMath((token as MathToken).text, (token as MathToken).displayMode) + (name === "blockKatex" ? "\n" : ""),
  })),
});

let hooksInstalled = false;
function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  // Links in model output open outside the app, without access to this page.
  DOMPurify.addHook("afterSanitizeAttributes", (node) => {
    if (node.tagName === "A") {
      node.setAttribute("target", "_blank");
      node.setAttribute("rel", "noopener noreferrer");
    }
  });
  // KaTeX lays formulas out with inline styles: keep them inside a formula we rendered, nowhere else.
  DOMPurify.addHook("uponSanitizeAttribute", (node, data) => {
    if (data.attrName === "style" && node.closest(`[data-math="${MATH_MARK}"]`)) data.forceKeepAttr = true;
  });
}

/**
 * Markdown (GitHub flavoured) to HTML that is safe to insert: code blocks highlighted with
 * highlight.js, formulas (`$…$`, `$$…$$`, `\\(…\\)`, `\\[…\\]`) typeset by KaTeX, then everything sanitized by DOMPurify (model output is untrusted: no scripts,
 * event handlers, iframes, forms or styles survive).
 */
export function renderMarkdown(text: string): string {
  installHooks();
  const html = marked.parse(text) as string;
  const safe = DOMPurify.sanitize(html, {
    USE_PROFILES: { html: true, mathMl: true },
    // KaTeX's MathML keeps the TeX source in <semantics>/<annotation> (read by screen readers).
    ADD_TAGS: ["semantics", "annotation"],
    ADD_ATTR: ["encoding"],
    FORBID_TAGS: ["style", "form", "input", "button", "textarea", "select"],
    FORBID_ATTR: ["style"],
  });
  // The marks are spent: the page never shows them (they would tell the secret).
  return safe.replaceAll(` data-math="${MATH_MARK}"`, "");
}
