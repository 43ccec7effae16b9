// "Add to a goal": attach a lesson, an annotation or a clip to one of the goals the person may write (their own,
// their mentees') as evidence (POST /api/v1/goals/{id}/evidence). Buttons with data-goal-evidence="kind:id" (and
// data-goal-label, what is being added, for the dialog's heading) open it; openGoalPicker() does the same from code.
import { api, announce, h } from "./app.js";

let dialog = null;

function build() {
  const select = h("select", { id: "goal-picker-goal", name: "goal_id", required: true });
  const status = h("p", { id: "goal-picker-status", role: "status", "aria-live": "polite", class: "muted" });
  const add = h("button", { type: "submit", class: "button primary", id: "goal-picker-add" }, "Add to goal");
  const cancel = h("button", { type: "button", class: "button", onclick: () => dialog.close() }, "Cancel");
  const form = h("form", { class: "stack" },
    h("h2", { id: "goal-picker-title" }, "Add to a goal"),
    h("p", { id: "goal-picker-what", class: "muted" }),
    h("div", { class: "field" }, h("label", { for: "goal-picker-goal" }, "Goal"), select),
    status,
    h("div", { class: "row" }, add, cancel));
  dialog = h("dialog", { id: "goal-picker", "aria-labelledby": "goal-picker-title" }, form);
  document.body.append(dialog);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const { kind, id } = dialog.dataset;
    const goalId = select.value;
    if (!goalId) return;
    add.disabled = true;
    try {
      await api(`/api/v1/goals/${goalId}/evidence`, { method: "POST", body: { [`${kind}_id`]: Number(id) } });
      const title = select.selectedOptions[0].textContent;
      dialog.close();
      announce(`Added to the goal “${title}”.`, "success");
    } catch (error) {
      status.textContent = error.message;
      status.className = "flash flash-error";
    } finally {
      add.disabled = false;
    }
  });
}

function goalLabel(goal, meId) {
  return goal.teacher && goal.teacher.id !== meId ? `${goal.title} (${goal.teacher.name})` : goal.title;
}

/** Open the dialog to add `kind` ("lesson" | "annotation" | "clip") number `id` to a goal. */
export async function openGoalPicker({ kind, id, label = "" }) {
  if (!dialog) build();
  dialog.dataset.kind = kind;
  dialog.dataset.id = String(id);
  const select = dialog.querySelector("select");
  const status = dialog.querySelector("#goal-picker-status");
  const add = dialog.querySelector("#goal-picker-add");
  dialog.querySelector("#goal-picker-what").textContent = label;
  status.textContent = "Loading your goals…";
  status.className = "muted";
  select.replaceChildren();
  add.disabled = true;
  dialog.showModal();
  try {
    const meId = Number(document.body.dataset.userId || 0);
    const goals = (await api("/api/v1/goals?status=active&per_page=100")).items;
    for (const goal of goals) select.append(h("option", { value: goal.id }, goalLabel(goal, meId)));
    if (goals.length) {
      status.textContent = "";
      add.disabled = false;
    } else {
      status.replaceChildren("No active goals yet: set one on the ", h("a", { href: "/mentoring" }, "Mentoring page"), ".");
    }
  } catch (error) {
    status.textContent = error.message;
    status.className = "flash flash-error";
  }
}

export function bindGoalButtons(root = document) {
  for (const button of root.querySelectorAll("[data-goal-evidence]")) {
    if (button.dataset.goalBound) continue;
    button.dataset.goalBound = "1";
    const [kind, id] = button.dataset.goalEvidence.split(":");
    button.addEventListener("click", () => openGoalPicker({ kind, id, label: button.dataset.goalLabel || "" }));
  }
}

bindGoalButtons();
