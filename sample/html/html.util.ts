/** Escapes a value for HTML text and for double- or single-quoted attributes. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A whole page of the sample: `title` is escaped, `body` is HTML the caller escaped already. */
export function htmlPage(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:sans-serif;margin:2rem;max-width:64rem}article,section.route{border:1px solid #ccc;border-radius:6px;padding:1rem;margin:1rem 0}
dl{display:grid;grid-template-columns:8rem 1fr;margin:0}dt{font-weight:bold}.bodies{display:grid;grid-template-columns:1fr 1fr;gap:1rem}
pre{white-space:pre-wrap;background:#f6f6f6;padding:.5rem;margin:0}iframe{width:100%;height:10rem;border:1px dashed #aaa}
code{background:#f0f0f0;padding:0 .2rem}label{display:block;margin:.3rem 0}form{margin:.5rem 0}output{display:block}</style>
</head><body>
${body}
</body></html>`;
}
