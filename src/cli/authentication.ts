import { unwatchFile, watchFile, type Stats } from 'node:fs';
import { Authenticator } from '../auth/authenticator.js';
import type { DigestAlgorithm } from '../auth/digest.js';
import { checkRealm, loadUsers, type Users } from '../auth/users.js';
import type { Logger } from '../util/logger.js';

export interface Authentication {
  authenticator: Authenticator;
  realm: string;
  close(): void;
}

/**
 * `--users FILE`: an authenticator for `realm` over the users file, which is watched so that a
 * `sipstate user add` takes effect while the proxy runs (nonces in flight stay valid). A file
 * that cannot be read at start is a one-line Error; after start, the users loaded before stay.
 */
export function startAuthentication(file: string, realm: string, algorithms: readonly DigestAlgorithm[], log: Logger): Authentication {
  checkRealm(realm);
  const users = loadUsers(file);
  const authenticator = new Authenticator({ users, realm, algorithms });
  log.info(`authentication on: ${describeUsers(users, realm, file, log)}, offering ${algorithms.join(' then ')}`);
  // Polling the path (not an inode watch): `user add` renames a new file over the old one.
  const reload = (now: Stats, before: Stats) => {
    if (now.mtimeMs === before.mtimeMs && now.ino === before.ino && now.size === before.size) return;
    try {
      const fresh = loadUsers(file);
      authenticator.setUsers(fresh);
      log.info(`users file reloaded: ${describeUsers(fresh, realm, file, log)}`);
    } catch (e) {
      log.warn(`${(e as Error).message}; the users loaded before stay`);
    }
  };
  watchFile(file, { interval: 1000, persistent: false }, reload);
  return { authenticator, realm, close: () => unwatchFile(file, reload) };
}

/**
 * "N users in realm R (FILE)", warning about lines written for another realm: their HA1 hashes
 * the realm in (RFC 7616 §3.4.2), so they cannot log in here.
 */
function describeUsers(users: Users, realm: string, file: string, log: Logger): string {
  let ours = 0;
  const others = new Set<string>();
  for (const entries of users.values()) {
    for (const e of entries) {
      if (e.realm === realm) ours++;
      else others.add(e.realm);
    }
  }
  if (others.size > 0) {
    log.warn(`${file} has users for realm ${[...others].map((r) => JSON.stringify(r)).join(', ')}, not ${JSON.stringify(realm)}: ` +
      `they cannot log in here (add them again with: sipstate user add NAME --realm ${realm})`);
  }
  if (ours === 0) log.warn(`${file} has no user in realm ${JSON.stringify(realm)}: no phone can register`);
  return `${ours} user${ours === 1 ? '' : 's'} in realm ${JSON.stringify(realm)} (${file})`;
}
