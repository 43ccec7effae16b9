// "My clips and reels": every clip I made, from any lesson, to join into one reel; a reel made here joins
// the "My reels" list at once.
import { h } from "../app.js";
import { ClipList } from "../lesson-clips.js";

function listReel(reel) {
  const section = document.getElementById("reels-title").closest("section");
  let list = section.querySelector("ul.clip-list");
  if (!list) {
    list = h("ul", { class: "clip-list", "aria-label": "My reels" });
    const empty = section.querySelector(".empty");
    if (empty) empty.replaceWith(list); else section.append(list);
  }
  const count = (reel.chapters || []).length || reel.clip_count || 0;
  list.prepend(h("li", { class: `clip-row status-${reel.status}` },
    reel.thumbnail_url ? h("img", { src: reel.thumbnail_url, alt: "", width: "96", height: "54" })
      : h("span", { class: "clip-thumb-empty", "aria-hidden": "true" }),
    h("div", { class: "clip-row-text" }, h("strong", {}, reel.title), h("p", { class: "hint" }, `${count} clip${count === 1 ? "" : "s"}`)),
    h("span", { class: `badge ${reel.status}` }, reel.status === "ready" ? "Ready" : reel.status === "failed" ? "Failed" : "Being made"),
    h("a", { class: "button small", href: reel.page_url, "aria-label": `Open ${reel.title}` }, "Open")));
}

const root = document.getElementById("my-clips");
export const clips = root ? new ClipList({ root, onReelMade: listReel }) : null;
