// The room's list of participants, and who of them is in the room now.

import { gettext } from "./i18n.js";

// the roles as the server names them (host, speaker, listener), for people
const ROLE_NAMES = { host: gettext("host"), speaker: gettext("speaker"), listener: gettext("listener") };

export class ParticipantList {
  constructor(list) {
    this.list = list;
    this.people = new Map(); // user id → {name, role, connections}
  }

  // Everyone, as session.ready lists them.
  render(participants) {
    this.people.clear();
    for (const person of participants) {
      this.people.set(person.id, { name: person.name, role: person.role, connections: person.connections });
    }
    this.draw();
  }

  // participant.joined / participant.left
  mark(person, joined) {
    // The server counts every connection (tabs, devices) of each person in the room.
    const known = this.people.get(person.id) || { name: person.name, role: person.role };
    known.connections = person.connections ?? (joined ? 1 : 0);
    this.people.set(person.id, known);
    this.draw();
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
  }
}
