/**
 * One shared copy of each host name or address the proxy has seen lately. A host is cut from a
 * message's text (a Via's received or sent-by, a Contact), and V8 keeps a cut of 13 characters
 * or more ("192.168.1.100") as a view onto the whole text: a transaction that keeps its peer's
 * address for the 32 s it lingers (64*T1) would keep the request's text with it. The shared copy
 * is a string of its own. Bounded: a flood from many addresses only empties the table.
 */
const MAX_HOSTS = 4096;
const hosts = new Map<string, string>();

export function internHost(host: string): string {
  const known = hosts.get(host);
  if (known !== undefined) return known;
  if (hosts.size >= MAX_HOSTS) hosts.clear();
  // A copy through bytes: never a view onto the text the host was cut from.
  const own = Buffer.from(host, 'utf8').toString('utf8');
  hosts.set(own, own);
  return own;
}

/** How many hosts the table holds (for tests). */
export function internedHostCount(): number {
  return hosts.size;
}
