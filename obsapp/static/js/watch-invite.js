// The host's "Invite people to watch" form on the watch page: sends the chosen people an invitation
// (POST /api/v1/watch/{id}/invitations); those invited are then shown as such and cannot be picked again.
import { api } from "./app.js";

const form = document.getElementById("invite-form");
const result = document.getElementById("invite-result");

if (form && document.getElementById("invite-send")) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const boxes = [...form.querySelectorAll('input[name="user_ids"]:checked:not(:disabled)')];
    if (!boxes.length) {
      result.textContent = "Choose at least one person to invite.";
      return;
    }
    const button = document.getElementById("invite-send");
    button.disabled = true;
    try {
      const answer = await api(form.dataset.api, { method: "POST", body: { user_ids: boxes.map((b) => Number(b.value)) } });
      for (const box of boxes) {
        box.disabled = true;
        const mark = document.createElement("span");
        mark.className = "muted";
        mark.textContent = " (invited)";
        box.parentElement.append(mark);
      }
      const names = answer.items.map((i) => i.user.name).join(", ");
      result.textContent = `Invited: ${names}.`;
    } catch (error) {
      result.textContent = error.message;
    } finally {
      button.disabled = false;
    }
  });
}
