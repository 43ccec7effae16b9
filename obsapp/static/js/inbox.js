// "Feedback for me": the clips and reels sent to me, unread first, from GET /api/v1/clips?for=me.
// Each item is the clip's or reel's own payload (its `id` is the clip's or reel's, `type` says which) with
// `delivery` {id, sender, recipient, message, sent_at, watched_at, reviewed_at} and `unread` beside it.
// Renders the same markup as clips/_inbox.html, which draws the list first (and without JavaScript).
import { api, h } from "./app.js";

const EMPTY = "When a mentor sends you feedback clips, they appear here.";

function shorten(text, length) {
  if (!text || text.length <= length) return text || "";
  const cut = text.slice(0, length - 1);
  const space = cut.lastIndexOf(" ");
  return `${space > length / 2 ? cut.slice(0, space) : cut}…`;
}

function day(value) {
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? ""
    : date.toLocaleDateString("en-GB", { day: "2-digit", month: "short", year: "numeric" });
}

export function inboxItem(item) {
  const delivery = item.delivery || item; // (before the inbox answered clips, the delivery's fields sat at the top)
  const badge = item.unread ? h("span", { class: "badge unread" }, "Unread")
    : delivery.reviewed_at ? h("span", { class: "badge reviewed" }, "Reviewed") : h("span", { class: "badge" }, "Watched");
  const criteria = (item.criteria || []).map((c) => (typeof c === "string" ? c : c.name));
  return h("li", { class: `feedback-item${item.unread ? " unread" : ""}`, "data-type": item.type, "data-id": item.id },
    item.thumbnail_url
      ? h("img", { class: "feedback-thumb", src: item.thumbnail_url, alt: "", loading: "lazy", width: "112", height: "63" })
      : h("span", { class: "feedback-thumb", "aria-hidden": "true" }, item.status === "failed" ? "Failed" : "Processing…"),
    h("div", { class: "feedback-body" },
      h("a", { class: "feedback-title", href: item.page_url }, item.title),
      badge,
      item.type === "reel" ? h("span", { class: "badge" }, "Reel") : null,
      item.kind || criteria.length ? h("div", { class: "feedback-tags" },
        item.kind ? h("span", { class: `kind-tag kind-${item.kind}` }, item.kind[0].toUpperCase() + item.kind.slice(1)) : null,
        criteria.map((name) => h("span", { class: "criterion-tag" }, name))) : null,
      item.comment ? h("p", { class: "feedback-comment" }, shorten(item.comment, 160)) : null,
      h("p", { class: "lesson-meta" }, `From ${delivery.sender ? delivery.sender.name : "someone"} · ${day(delivery.sent_at)} `,
        delivery.message ? h("span", { class: "feedback-message" }, `“${shorten(delivery.message, 140)}”`) : null)));
}

/** Fetch the first page of my feedback and draw it into `root` (the list, or the empty line). */
export async function refreshInbox(root, { perPage = 30 } = {}) {
  const page = await api(`/api/v1/clips?for=me&per_page=${perPage}`);
  const items = page.items || [];
  root.replaceChildren(items.length
    ? h("ul", { class: "feedback-list", "aria-label": "Feedback for me" }, items.map(inboxItem))
    : h("p", { class: "empty" }, EMPTY));
  return items;
}
