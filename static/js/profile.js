// The profile page's entry: turning mention notifications on asks the browser for its
// permission, from the person's own click or key press (browsers ignore requests made without one).

import { gettext } from "./i18n.js";

const box = document.getElementById("id_mention_notifications");
const status = document.getElementById("notify-status");
const supported = "Notification" in window;

function say(permission) {
  const messages = {
    granted: gettext("This browser will notify you while the room is in the background."),
    denied: gettext(
      "This browser blocks notifications from this site: allow them in its site settings. Mentions are still highlighted in the room.",
    ),
    // on, from another browser: this one was never asked
    default: gettext("This browser has not been asked yet: turn the box off and on again to allow it."),
    unsupported: gettext("This browser cannot show notifications. Mentions are still highlighted in the room."),
  };
  status.textContent = box.checked ? messages[permission] : "";
}

if (box && status) {
  box.addEventListener("change", async () => {
    if (!supported) return say("unsupported");
    if (box.checked && Notification.permission === "default") {
      await Notification.requestPermission();
    }
    say(Notification.permission);
  });
  // Said on load too: the setting is on, but this browser may not have been asked yet.
  if (box.checked) say(supported ? Notification.permission : "unsupported");
}
