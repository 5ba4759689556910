import { customAlphabet } from 'nanoid';
import { getHeader, type SipRequest } from '../sip/message.js';
import type { MessageInfo } from '../sip/info.js';
import { MAGIC_COOKIE } from '../sip/via.js';
import { FNV1A_OFFSET, fnv1a, fnv1aFold, fnv1aFoldListLine, fnv1aHex } from './hash.js';

/**
 * The random part of tags and branches: 48 bits (§19.3 asks at least 32 for a tag), in lower-case
 * hex. Letters of both cases could spell a header name, and some peers find headers by a plain
 * substring search: SIPp takes a response's CSeq method from the first "CSeq" anywhere in it, so
 * a To tag such as `kCSeqF14QDTM` (seen in a benchmark run) made it reject a good 200 OK.
 * Twelve characters, not more: nanoid builds its id a character at a time, and from 13 characters
 * on V8 keeps such a string as a chain of pieces, some 250 B more per lingering call (16 tried).
 */
const unique = customAlphabet('0123456789abcdef', 12);

/**
 * The loop-detection part of a branch (§16.6 step 8, §16.3 step 4): a hash of all that decides how
 * we process the request — Request-URI, From/To tags, Call-ID, CSeq number, the Route set. Back
 * with one of them changed, a request is a spiral and
 * hashes apart; back unchanged, a loop. Route counts: a call that passed us twice with another
 * record-routing hop between has the route set <us>,<hop>,<us>, and its in-dialog requests come
 * back from the hop with the same Request-URI and only <us> left — a spiral, not a loop.
 * As received, before §16.4 takes our Route off: the check (§16.3 step 4) sees the request as
 * received, so forwarding hashes that too. Our own Route, there on one pass and not on the next
 * (taken off, or put in front by a hop), delays a true loop's 482 by one pass; what hashes alike
 * is processed alike, so it never makes a false one.
 * Not the topmost Via (§16.6 step 8 suggests it): a looped request comes back under the Vias of
 * the hops it passed, which would hide every loop. Not the method: a CANCEL, with its INVITE's
 * Route set (§9.1), hashes as its INVITE (§16.11). Nor Proxy-Authorization (§16.6 step 8 names
 * it) or Proxy-Require: a CANCEL need not repeat its INVITE's credentials, and cannot be
 * challenged for them (§22.1), so hashing them sent a CANCEL after a restart on a branch the
 * phone did not know whenever the INVITE had credentials; a request with Proxy-Require gets 420
 * here, and one whose credentials change comes back with a new CSeq number anyway (§22.2).
 */
export function loopHash(req: SipRequest, info: MessageInfo): string {
  let h = fnv1aFold(FNV1A_OFFSET,
    [req.uri, info.fromTag ?? '', info.toTag ?? '', info.callId, String(info.cseq.seq)].join('\n'));
  // Route lines folded onto the hash, not joined: a request without Route costs what it did.
  const hs = req.headers;
  for (let i = 0; i < hs.length; i++) if (hs[i]!.key === 'route') h = fnv1aFoldListLine(h, hs[i]!.value);
  return fnv1aHex(h);
}

/** A new branch for a forwarded request: magic cookie, loop hash, then a unique part (§8.1.1.7). */
export function newBranch(loop: string): string {
  return `${MAGIC_COOKIE}-${loop}-${unique()}`;
}

/**
 * The branch of an INVITE's i-th target: for the first, the branch a stateless forward of this
 * INVITE would get (statelessBranch), so that a CANCEL for it that finds no transaction here — the
 * proxy restarted while the phone rang — is passed on (§16.10, §16.11) on the very branch the phone's
 * INVITE server transaction knows (§9.2), and cancels it; the other targets that one and `.i`. Unique
 * (§8.1.1.7) as the received branch is, so only when that is an RFC 3261 one; else newBranch.
 */
export function inviteBranch(loop: string, receivedBranch: string | null, index: number): string {
  if (receivedBranch === null || !receivedBranch.startsWith(MAGIC_COOKIE)) return newBranch(loop);
  const first = statelessBranch(loop, receivedBranch);
  return index === 0 ? first : `${first}.${index}`;
}

/** A branch that is the same for every retransmission of a statelessly forwarded request (§16.11). */
export function statelessBranch(loop: string, receivedBranch: string | null): string {
  return `${MAGIC_COOKIE}-${loop}-s${fnv1a(receivedBranch ?? '')}`;
}

/** Whether one of our branches was made by statelessBranch (a request passed on with no client transaction), not newBranch. */
export function isStatelessBranch(branch: string): boolean {
  if (!branch.startsWith(`${MAGIC_COOKIE}-`)) return false;
  const end = branch.indexOf('-', MAGIC_COOKIE.length + 1);
  // newBranch's unique part is lower-case hex: never an 's'.
  return end >= 0 && branch.charCodeAt(end + 1) === 0x73;
}

/** The loop hash inside one of our own branches, or null when the branch is not of our making. */
export function loopPartOf(branch: string | null): string | null {
  if (!branch || !branch.startsWith(`${MAGIC_COOKIE}-`)) return null;
  const end = branch.indexOf('-', MAGIC_COOKIE.length + 1);
  return end < 0 ? null : branch.slice(MAGIC_COOKIE.length + 1, end);
}

/** A tag for To headers of responses this proxy generates itself (§8.2.6.2, §19.3). */
export function newTag(): string {
  return unique();
}

/**
 * The To tag of a response sent with no transaction (a request too broken for one): the same for
 * every retransmission of the request, as §8.2.6.2 asks, and recognisable in the ACK of an
 * INVITE's rejection (its Call-ID, From tag and top Via branch are the INVITE's, §17.1.1.3), which
 * then ends here. `sl` cannot start the hex tags `newTag` makes.
 */
export function statelessTag(callId: string, fromTag: string | null, branch: string | null): string {
  return `sl${fnv1a(`${callId}|${fromTag ?? ''}|${branch ?? ''}`)}`;
}
