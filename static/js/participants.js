// The room's participants: how many are connected, who speaks, and every member in pages, asked
// for with the Show everyone button (participants.list): what a page is sent on joining does not
// grow with the room.

import { gettext, interpolate, ngettext } from "./i18n.js";

// the roles as the server names them (host, speaker, listener), for people
const ROLE_NAMES = { host: gettext("host"), speaker: gettext("speaker"), listener: gettext("listener") };

export class ParticipantList {
  constructor(list, { count, more, send }) {
    this.list = list;
    this.count = count;
    this.more = more;
    this.send = send;
    this.people = new Map(); // user id → {name, role, connections}
    this.members = 0;
    this.connections = 0;
    this.next = null; // where the next page starts (a member id), null when none is left
    this.complete = false; // every member is listed
    more.addEventListener("click", () => {
      if (this.next !== null) this.send({ type: "participants.list", after: this.next });
    });
  }

  // session.ready: the counts, this person, and the hosts and speakers.
  render(ready) {
    this.people.clear();
    this.members = ready.members;
    this.connections = ready.connections;
    this.remember({ ...ready.participant, connections: 1 });
    for (const person of ready.speakers) this.remember(person);
    this.next = 0;
    this.complete = false;
    this.draw();
  }

  // participants.page
  addPage(page) {
    for (const person of page.participants) this.remember(person);
    this.next = page.next;
    this.complete = page.next === null;
    this.draw();
  }

  // presence.changed: the new count, and the connections of the people listed (of anyone once
  // every member is, so someone who joined the meeting since shows up too).
  update(event) {
    this.connections = event.connections;
    for (const person of event.changed) {
      if (this.complete || this.people.has(person.id)) this.remember(person);
    }
    this.draw();
  }

  remember(person) {
    const known = this.people.get(person.id) || {};
    this.people.set(person.id, { ...known, name: person.name, role: person.role, connections: person.connections ?? 0 });
  }

  draw() {
    const items = [...this.people.entries()].map(([id, person]) => {
      const item = document.createElement("li");
      item.dataset.userId = id;
      item.classList.toggle("present", person.connections > 0);
      const presence = person.connections > 0 ? ` · ${gettext("in the room")}` : "";
      item.textContent = `${person.name} (${ROLE_NAMES[person.role] ?? person.role})${presence}`;
      return item;
    });
    this.list.replaceChildren(...items);
    const members = ngettext("%(count)s member", "%(count)s members", this.members);
    const connected = interpolate(gettext("%(count)s connected"), { count: this.connections });
    this.count.textContent = `${connected} · ${interpolate(members, { count: this.members })}`;
    this.more.hidden = this.complete;
    this.more.textContent = this.next ? gettext("Show more") : gettext("Show everyone");
  }
}
