import { DEMO_USERS } from '../account/demo-users.js';
import { escapeHtml, htmlPage } from '../html/html.util.js';
import { type FormField, ROUTE_SECTIONS, type RouteEntry } from './routes.js';

// Sends a form as JSON (a list field as an array of its lines) and shows the answer under it.
const FORM_SCRIPT = `<script>
for (const form of document.querySelectorAll('form[data-json]')) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = {};
    for (const el of form.elements) {
      if (!el.name) continue;
      body[el.name] = el.dataset.list === undefined ? el.value : el.value.split('\\n').map((s) => s.trim()).filter(Boolean);
    }
    const res = await fetch(form.action, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    let text = await res.text();
    try { text = JSON.stringify(JSON.parse(text), null, 2); } catch {}
    const output = form.querySelector('output');
    output.dataset.status = String(res.status);
    output.textContent = res.status + ' ' + text;
  });
}
</script>`;

function input(field: FormField): string {
  const name = escapeHtml(field.name);
  const control =
    field.kind === 'list'
      ? `<textarea name="${name}" rows="3" cols="40" data-list>${escapeHtml(field.value)}</textarea> (one per line)`
      : `<input name="${name}" type="${field.kind ?? 'text'}" value="${escapeHtml(field.value)}">`;
  return `<label>${name} ${control}</label>`;
}

function entry(route: RouteEntry): string {
  const head = `<code>${route.method} ${escapeHtml(route.route)}</code>`;
  let action = '';
  if (route.method === 'GET' && route.href !== undefined) {
    action = `<a class="route-link" href="${escapeHtml(route.href)}">${escapeHtml(route.href)}</a>`;
  } else if (route.method === 'POST') {
    action = `<form class="route-form" method="post" action="${escapeHtml(route.route)}"${route.navigates ? '' : ' data-json'}>
  ${(route.fields ?? []).map(input).join('\n  ')}
  <button type="submit">POST ${escapeHtml(route.route)}</button>
  ${route.navigates ? '' : '<output></output>'}
</form>`;
  }
  return `<section class="route" data-method="${route.method}" data-route="${escapeHtml(route.route)}">
${head}: ${escapeHtml(route.shows)}
${action}
</section>`;
}

/** The index page: every route of the sample, links for GETs, forms for POSTs, the demo accounts. */
export function homePage(backends: { storage: string; email: string }): string {
  const users = Object.entries(DEMO_USERS)
    .map(
      ([user, password]) =>
        `<li><code class="demo-user">${escapeHtml(user)}</code> / <code>${escapeHtml(password)}</code></li>`,
    )
    .join('');
  const sections = ROUTE_SECTIONS.map((s) => `<h2>${escapeHtml(s.title)}</h2>\n${s.routes.map(entry).join('\n')}`);
  return htmlPage(
    'nestjs-backends sample',
    `<h1>nestjs-backends sample</h1>
<p class="backends">Storage: <strong>${escapeHtml(backends.storage)}</strong>, email: <strong>${escapeHtml(backends.email)}</strong>
(environment variables switch them, see the README).</p>
<p>Demo accounts (sample only):</p><ul class="demo-users">${users}</ul>
<p>Forms send JSON and show the answer below them; the session cookie is kept by the browser.</p>
${sections.join('\n')}
${FORM_SCRIPT}`,
  );
}
