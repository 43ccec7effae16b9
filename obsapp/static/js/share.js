// The owner's sharing dialog: current shares (role, remove) and a people search to add more.
import { api } from "./app.js";

export function setupShareDialog(lessonId) {
  const dialog = document.getElementById("share-dialog");
  const button = document.getElementById("share-button");
  if (!dialog || !button) return;
  const list = document.getElementById("share-list");
  const results = document.getElementById("share-results");
  const search = document.getElementById("share-search");
  const status = document.getElementById("share-results-status");
  const errorBox = document.getElementById("share-error");
  let shares = [];
  let timer = null;

  const fail = (error) => { errorBox.textContent = error.message; errorBox.hidden = false; };
  const clearError = () => { errorBox.hidden = true; };

  function roleSelect(share) {
    const select = document.createElement("select");
    select.setAttribute("aria-label", `Role of ${share.user.name}`);
    for (const role of ["viewer", "commenter"]) {
      const option = new Option(role === "viewer" ? "Viewer" : "Commenter", role, false, share.role === role);
      select.append(option);
    }
    select.addEventListener("change", async () => {
      clearError();
      try { await api(`/api/v1/lessons/${lessonId}/shares`, { method: "POST", body: { user_id: share.user.id, role: select.value } }); }
      catch (error) { fail(error); }
    });
    return select;
  }

  function renderShares() {
    list.innerHTML = "";
    if (!shares.length) {
      const li = document.createElement("li");
      li.className = "muted";
      li.textContent = "Not shared with anyone yet.";
      list.append(li);
    }
    for (const share of shares) {
      const li = document.createElement("li");
      const name = document.createElement("span");
      name.className = "grow";
      name.textContent = `${share.user.name} (${share.user.email})`;
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "button small danger";
      remove.textContent = "Remove";
      remove.setAttribute("aria-label", `Stop sharing with ${share.user.name}`);
      remove.addEventListener("click", async () => {
        clearError();
        try {
          await api(`/api/v1/lessons/${lessonId}/shares/${share.user.id}`, { method: "DELETE" });
          await refresh();
        } catch (error) { fail(error); }
      });
      li.append(name, roleSelect(share), remove);
      list.append(li);
    }
  }

  async function refresh() {
    shares = (await api(`/api/v1/lessons/${lessonId}/shares`)).items;
    renderShares();
  }

  async function find() {
    const q = search.value.trim();
    results.innerHTML = "";
    if (q.length < 2) { status.textContent = ""; return; }
    const shared = new Set(shares.map((s) => s.user.id));
    const me = Number(document.body.dataset.userId || 0);
    let people = [];
    try { people = (await api(`/api/v1/users?q=${encodeURIComponent(q)}`)).items; } catch (error) { fail(error); return; }
    people = people.filter((p) => !shared.has(p.id) && p.id !== me);
    status.textContent = people.length ? `${people.length} found` : "Nobody found";
    for (const person of people.slice(0, 8)) {
      const li = document.createElement("li");
      const name = document.createElement("span");
      name.className = "grow";
      name.textContent = `${person.name} (${person.email})`;
      li.append(name);
      for (const role of ["viewer", "commenter"]) {
        const add = document.createElement("button");
        add.type = "button";
        add.className = "button small";
        add.textContent = role === "viewer" ? "Add as viewer" : "Add as commenter";
        add.setAttribute("aria-label", `Share with ${person.name} as ${role}`);
        add.addEventListener("click", async () => {
          clearError();
          try {
            await api(`/api/v1/lessons/${lessonId}/shares`, { method: "POST", body: { user_id: person.id, role } });
            search.value = "";
            results.innerHTML = "";
            await refresh();
          } catch (error) { fail(error); }
        });
        li.append(add);
      }
      results.append(li);
    }
  }

  search.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(find, 250); });
  button.addEventListener("click", async () => {
    clearError();
    dialog.showModal();
    search.focus();
    try { await refresh(); } catch (error) { fail(error); }
  });
}
