// The room's "Microphone processing" choice (echo cancellation, noise suppression, automatic
// gain), kept in this browser like the caption size. The checkboxes hold the state: the
// template checks the defaults, this restores the person's own choice over them, and room.js
// reads the boxes whenever it opens the microphone (and reopens it when one changes).

const KEY = "mic-processing";

function savedChoice() {
  try {
    const choice = JSON.parse(localStorage.getItem(KEY));
    return choice && typeof choice === "object" ? choice : {};
  } catch {
    return {}; // not JSON (edited by hand): the defaults stand
  }
}

/** Restores the person's choice into the form's boxes, and keeps each change they make. */
export function keepMicProcessingChoice(form) {
  const boxes = [...form.querySelectorAll("input[type=checkbox]")];
  const saved = savedChoice();
  for (const box of boxes) {
    // Only what the person set: an option added later starts at its default.
    if (typeof saved[box.name] === "boolean") box.checked = saved[box.name];
  }
  form.addEventListener("change", () => {
    const choice = Object.fromEntries(boxes.map((box) => [box.name, box.checked]));
    localStorage.setItem(KEY, JSON.stringify(choice));
  });
}
