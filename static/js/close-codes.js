// The WebSocket close codes as the server defines them (meetings/close_codes.py): the page
// renders them as JSON ({% close_codes %}), so the browser never keeps numbers of its own.

let served = null;

/**
 * @returns {{codes: Object<string, number>, messages: Object<string, string>, final: number[]}}
 *   the codes by name (NOT_FOUND, TOO_MANY, …), what the room page says of each, and those after
 *   which a page does not connect again
 */
export function closeCodes() {
  served ??= JSON.parse(document.getElementById("close-codes").textContent);
  return served;
}
