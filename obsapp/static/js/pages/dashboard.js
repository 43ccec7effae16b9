// The dashboard: "Feedback for me" is drawn by the server, and redrawn from the API when the page comes back
// into view (back from a clip, whose "Unread" is now "Watched"; or feedback sent while the tab was hidden).
import { refreshInbox } from "../inbox.js";

const inbox = document.getElementById("feedback-inbox");

async function refresh() {
  try {
    await refreshInbox(inbox);
  } catch (err) {
    // keep what the server drew; the next visit draws it again
  }
}

if (inbox) {
  window.addEventListener("pageshow", (event) => { if (event.persisted) refresh(); });
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") refresh(); });
}
