// The end of a meeting on the room page (docs/PROTOCOL.md: meeting.end, meeting.ended): the
// host's End and Start-again buttons, and what every page does when the meeting ends or starts
// again. room.js owns the connection and the microphone and hands both over as hooks.

import { gettext, interpolate } from "./i18n.js";

export class MeetingState {
  // hooks.send(message): false when not connected; hooks.microphone(allowed): stops the
  // microphone and disables it, or enables it again; hooks.alert(text): the room's alert.
  constructor(room, hooks) {
    this.hooks = hooks;
    this.els = {
      notice: document.getElementById("meeting-ended"),
      detail: document.getElementById("meeting-ended-detail"),
      announcer: document.getElementById("meeting-announcer"),
      end: document.getElementById("meeting-end"),
      reopen: document.getElementById("meeting-reopen"),
      confirm: document.getElementById("meeting-end-confirm"),
    };
    this.ended = room.dataset.ended === "true";
    if (this.els.end) {
      this.els.end.addEventListener("click", () => this.els.confirm.showModal());
      this.els.confirm.addEventListener("close", () => {
        if (this.els.confirm.returnValue === "end") this.control("meeting.end");
        this.els.confirm.returnValue = "";
      });
      this.els.reopen.addEventListener("click", () => this.control("meeting.reopen"));
    }
    this.show(this.ended);
    if (this.ended) hooks.microphone(false);
  }

  // Every event from the server passes here; the ones about the meeting's end are handled.
  handle(event) {
    switch (event.type) {
      case "session.ready": // it may have ended, or started again, while this page was away
        if (Boolean(event.meeting.ended_at) !== this.ended) {
          this.changed(Boolean(event.meeting.ended_at), "");
        }
        break;
      case "meeting.ended":
        this.changed(true, this.endedBy(event.by));
        break;
      case "meeting.reopened":
        this.changed(false, interpolate(gettext("%(name)s started the meeting again."), { name: event.by.name }));
        break;
      case "error": // audio refused: this page had not heard of the end
        if (event.code === "meeting_ended" && !this.ended) this.changed(true, "");
        break;
      default:
        break;
    }
  }

  endedBy(by) {
    return by
      ? interpolate(gettext("%(name)s ended the meeting."), { name: by.name })
      : gettext("The meeting ended by itself: nobody had been in it or spoken for a while.");
  }

  control(type) {
    if (!this.hooks.send({ type })) {
      this.hooks.alert(gettext("Not connected to the room: try again once the page says Connected."));
    }
  }

  changed(ended, why) {
    const focusLost = this.focusWillBeLost();
    this.ended = ended;
    this.hooks.microphone(!ended);
    this.show(ended);
    if (ended) {
      if (why) this.els.detail.textContent = `${why} ${gettext("Microphones are off; the captions below stay for reading.")}`;
      this.announce(`${gettext("The meeting has ended.")} ${why}`);
      if (focusLost) this.els.notice.focus();
    } else {
      this.announce(`${why} ${gettext("Microphones can be turned on again.")}`);
      const next = document.getElementById("mic-start") || this.els.end;
      if (focusLost && next) next.focus();
    }
  }

  // The controls that are about to hide or be disabled (or nothing) hold the focus: it is
  // moved to what replaces them, so a keyboard user is not left on a vanished button.
  focusWillBeLost() {
    const active = document.activeElement;
    if (!active || active === document.body) return true;
    const changing = ["mic-start", "mic-stop", "meeting-end", "meeting-reopen", "meeting-ended"];
    return changing.includes(active.id);
  }

  show(ended) {
    this.els.notice.hidden = !ended;
    if (this.els.end) {
      this.els.end.hidden = ended;
      this.els.reopen.hidden = !ended;
      if (ended && this.els.confirm.open) this.els.confirm.close();
    }
  }

  announce(text) {
    // Emptied first, so the same words said twice are announced twice.
    this.els.announcer.textContent = "";
    setTimeout(() => (this.els.announcer.textContent = text.trim()), 50);
  }
}
