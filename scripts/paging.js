// Veeam's collections come in pages: {offset, limit, results, _links}, with _links.next
// only while more results remain. Walking the pages by hand and with session.paginate
// yields exactly the collection fetched in one page, in the same order.
const { test, expect } = require("vbharness");

// walk follows _links.next from the first page of path, checking each page's shape.
function walk(admin, path, limit) {
  const ids = [];
  let href = `${path}?limit=${limit}`;
  for (let offset = 0; href; offset += limit) {
    const page = admin.get(href);
    expect(page).toHaveStatus(200);
    const body = page.json();
    expect(body.offset).toBe(offset);
    expect(body.limit).toBe(limit);
    expect(body.results.length).toBeLessThanOrEqual(limit);
    expect(body._links.self).toBeDefined();
    for (const r of body.results) ids.push(r.id);
    href = body._links.next && body._links.next.href;
    if (href) expect(body.results).toHaveLength(limit);
  }
  return ids;
}

function pagesThrough(ctx, path, limit) {
  const admin = ctx.veeam.login({ admin: true });
  const all = admin.get(path, { query: { limit: 10000 } }).json();
  expect(all._links.next).toBeUndefined();
  const ids = all.results.map((r) => r.id);
  expect(ids.length).toBeGreaterThan(limit); // more than one page, or nothing is proved
  expect(walk(admin, path, limit)).toEqual(ids);
  expect(admin.paginate(`${path}?limit=${limit}`).map((r) => r.id)).toEqual(ids);

  const last = Math.floor((ids.length - 1) / limit) * limit;
  const tail = admin.get(path, { query: { limit, offset: last } }).json();
  expect(tail.results.map((r) => r.id)).toEqual(ids.slice(last));
  expect(tail._links.next).toBeUndefined();
  expect(tail._links.prev).toBeDefined();
}

test("jobs page by limit, offset and _links.next", (ctx) => {
  pagesThrough(ctx, "/v8/Jobs", 7);
}, { tags: ["paging"] });

test("organizations page by limit, offset and _links.next", (ctx) => {
  pagesThrough(ctx, "/v8/Organizations", 1);
}, { tags: ["paging"] });
