import { isIP } from 'node:net';
import type { AnyStateMachine, InspectionEvent, Observer } from 'xstate';
import { MachineActor, MachineSystem } from './machineActor.js';
import type { MachineEngine } from './leanInterpreter.js';
import { ClientTxRecord, OwnerRecord, ServerTxRecord, type RecordHandlers } from './actorRecords.js';
import { parseDatagram, type ParseLimits, DEFAULT_LIMITS } from '../sip/parser.js';
import { messageInfo, type MessageInfo } from '../sip/info.js';
import { getHeader, getHeaderValues, type SipMessage, type SipRequest, type SipResponse } from '../sip/message.js';
import { buildResponse } from '../sip/build.js';
import { parseNameAddr, tagOf } from '../sip/nameAddr.js';
import { getParam } from '../sip/params.js';
import { aorOf, parseUri } from '../sip/uri.js';
import { parseVia, type Via } from '../sip/via.js';
import { inviteServerTransaction } from '../machines/inviteServerTransaction.js';
import { nonInviteServerTransaction } from '../machines/nonInviteServerTransaction.js';
import { inviteClientTransaction } from '../machines/inviteClientTransaction.js';
import { nonInviteClientTransaction } from '../machines/nonInviteClientTransaction.js';
import { callMachine, type CallEmitted } from '../machines/call.js';
import type { RestoredCall } from '../cluster/ipc.js';
import { relayMachine, type RelayEmitted } from '../machines/relay.js';
import type { TransactionEmitted } from '../machines/events.js';
import type { CallLifecycleEvent } from '../machines/lifecycle.js';
import { DEFAULT_TIMERS, DEFAULT_TIMER_C_MS, type TransactionTimers } from '../machines/timers.js';
import type { LocalIdentity } from '../proxy/localIdentity.js';
import { carriesOwnVia, validateRequest, type Rejection } from '../proxy/validate.js';
import { checkMaxForwards } from '../proxy/maxForwards.js';
import { preprocessRoute, routedByUs } from '../proxy/routePreprocess.js';
import { buildForwardedRequest, isDialogCreating } from '../proxy/forward.js';
import { destinationOf, nextHopOf, type Destination } from '../proxy/nextHop.js';
import { NameResolver } from '../transport/nameResolver.js';
import { inviteBranch, isStatelessBranch, loopHash, newBranch, newTag, statelessBranch, statelessTag } from '../proxy/branch.js';
import { chooseBestResponse, stripOwnVia } from '../proxy/responses.js';
import { optionsResponse } from '../proxy/options.js';
import { registrarRequireRejection } from '../proxy/require.js';
import { handleRegister } from './registrarActor.js';
import type { Binding, RegistrarPolicy } from '../proxy/registrar.js';
import { DEFAULT_REGISTRAR_POLICY } from '../proxy/registrar.js';
import { LocationService } from './locationService.js';
import { stampTopVia, stampedVia, withTopVia, responseAddress, responseAddressOf, type Address } from '../transport/viaAddressing.js';
import { clientTransactionKey, dialogKey, serverTransactionKey } from './transactionKeys.js';
import { packResponse, serialize } from '../sip/serializer.js';
import { PackedResponse } from '../sip/packedResponse.js';
import { Logger } from '../util/logger.js';
import type { SourceGuard } from '../security/sourceGuard.js';
import { checkSanity, DEFAULT_SANITY_LIMITS, type SanityLimits } from '../proxy/sanity.js';
import type { Authenticator } from '../auth/authenticator.js';
import { ShardedMap } from '../util/shardedMap.js';
import { authorizeRequest } from '../proxy/authorize.js';
import { ownString } from '../util/ownString.js';

export interface Transport {
  send(data: Buffer, host: string, port: number): void;
}

/**
 * Calls open at once by default: some 180 MB of calls at 1.8 KB each, far beyond a small network,
 * and a bound on what peers that answer and never hang up can hold.
 */
export const DEFAULT_MAX_CALLS = 100_000;

export interface SupervisorOptions {
  identity: LocalIdentity;
  timers?: TransactionTimers;
  timerCMs?: number;
  maxCallMs?: number;
  /** Calls open at once (ringing or answered); a new INVITE past it is 503 (DEFAULT_MAX_CALLS). */
  maxCalls?: number;
  registrar?: RegistrarPolicy;
  limits?: ParseLimits;
  location?: LocationService;
  onLifecycle?: (e: CallLifecycleEvent) => void;
  /** Applied to every response this proxy sends (forwarded or its own): localized reason phrases. */
  rewriteResponse?: (r: SipResponse) => SipResponse;
  inspect?: Observer<InspectionEvent> | ((e: InspectionEvent) => void);
  /** Who interprets the machines (default XState's interpreter; src/actors/leanInterpreter.ts). */
  engine?: MachineEngine;
  /** Flood and password-guessing protection per source (none: every source is admitted). */
  guard?: SourceGuard;
  /** Requests whose User-Agent this matches are dropped. */
  isScanner?: (userAgent: string | undefined) => boolean;
  sanity?: SanityLimits;
  /** Digest authentication (RFC 3261 §22; src/proxy/authorize.ts); none: the proxy is open to all. */
  authenticator?: Authenticator;
  logger?: Logger;
  /** Next hops named by a host name, resolved before forwarding (default: the system resolver, cached). */
  resolver?: NameResolver;
}

export interface SupervisorStats {
  serverTransactions: number;
  clientTransactions: number;
  calls: number;
  relays: number;
  dialogs: number;
  bindings: number;
  received: number;
  badMessages: number;
  scannersDropped: number;
  internalErrors: number;
  bannedSources: number;
  /** Users locked after password guessing from many sources (SourceGuard). */
  lockedUsers: number;
  droppedByGuard: number;
}

/**
 * The supervisor actor: every datagram becomes an event here. One table lookup finds the transaction
 * a message belongs to (§17.1.3, §17.2.3); new requests get a server transaction actor and, when
 * forwarded, a call (INVITE) or relay (other methods) actor owning the client transactions of
 * its branches. Each runs in its own MachineActor (not a spawned child: see docs/design.md), kept in a
 * table by its key and dropped when it reaches its final state.
 */
export class Supervisor {
  // Sharded: each holds tens of thousands of lingering transactions under load, and one Map
  // that size rehashes for milliseconds at a time (src/util/shardedMap.ts).
  private readonly serverTx = new ShardedMap<ServerTxRecord>();
  private readonly clientTx = new ShardedMap<ClientTxRecord>();
  private readonly owners = new Map<string, OwnerRecord>();
  private readonly dialogs = new Map<string, string>();
  private readonly me: LocalIdentity;
  private readonly timers: TransactionTimers;
  private readonly timerCMs: number;
  private readonly maxCallMs: number;
  private readonly maxCalls: number;
  /** Call actors alive now (what maxCalls bounds, and what stats() reports). */
  private liveCalls = 0;
  private readonly registrarPolicy: RegistrarPolicy;
  private readonly limits: ParseLimits;
  readonly location: LocationService;
  private readonly log: Logger;
  private received = 0;
  private badMessages = 0;
  private scannersDropped = 0;
  private internalErrors = 0;
  private readonly sanity: SanityLimits;
  /** Timers and inspection for every machine actor (src/actors/machineActor.ts). */
  private readonly system: MachineSystem;
  // The options read per message are fields of the supervisor, not read through the options
  // object: the warm-up's supervisor is given fewer options, so its options object has another
  // hidden class, and code V8 optimized during the warm-up was thrown away at the first real
  // message (deopt "wrong map"; BENCHMARKS.md, finding 40).
  private readonly guard: SourceGuard | undefined;
  private readonly isScanner: ((userAgent: string | undefined) => boolean) | undefined;
  private readonly authenticator: Authenticator | undefined;
  private readonly onLifecycle: ((e: CallLifecycleEvent) => void) | undefined;
  private readonly rewriteResponse: ((r: SipResponse) => SipResponse) | undefined;

  private readonly resolver: NameResolver;

  constructor(private readonly transport: Transport, opts: SupervisorOptions) {
    this.me = opts.identity;
    this.resolver = opts.resolver ?? new NameResolver();
    this.timers = opts.timers ?? DEFAULT_TIMERS;
    this.timerCMs = opts.timerCMs ?? DEFAULT_TIMER_C_MS;
    this.maxCallMs = opts.maxCallMs ?? 12 * 3600_000;
    this.maxCalls = opts.maxCalls ?? DEFAULT_MAX_CALLS;
    this.registrarPolicy = opts.registrar ?? DEFAULT_REGISTRAR_POLICY;
    this.limits = opts.limits ?? DEFAULT_LIMITS;
    this.sanity = opts.sanity ?? DEFAULT_SANITY_LIMITS;
    this.location = opts.location ?? new LocationService();
    this.log = opts.logger ?? new Logger('warn');
    this.system = new MachineSystem(opts.inspect, opts.engine);
    this.guard = opts.guard;
    this.isScanner = opts.isScanner;
    this.authenticator = opts.authenticator;
    this.onLifecycle = opts.onLifecycle;
    this.rewriteResponse = opts.rewriteResponse;
  }

  stats(): SupervisorStats {
    return {
      serverTransactions: this.serverTx.size,
      clientTransactions: this.clientTx.size,
      calls: this.liveCalls,
      relays: this.owners.size - this.liveCalls,
      dialogs: this.dialogs.size,
      bindings: this.location.bindingCount,
      received: this.received,
      badMessages: this.badMessages,
      scannersDropped: this.scannersDropped,
      internalErrors: this.internalErrors,
      bannedSources: this.guard?.banned ?? 0,
      lockedUsers: this.guard?.locked ?? 0,
      droppedByGuard: this.guard?.dropped ?? 0,
    };
  }

  /**
   * Restart recovery: a call open before the restart (known from the journal) is open again. An
   * answered one waits for the BYE that completes its call-log entry; a ringing one for the
   * final response its callee may still send (onResponse), at most Timer C (§16.8).
   */
  restoreCall(call: RestoredCall): void {
    const key = restoredKey(call.callId, call.fromTag);
    const request: SipRequest = { kind: 'request', method: 'INVITE', uri: call.to, headers: [], body: Buffer.alloc(0) };
    const answered = call.phase === 'answered';
    this.spawnOwner(key, 'call', callMachine, {
      request,
      callId: call.callId,
      fromTag: call.fromTag,
      from: call.from,
      to: call.to,
      branches: [],
      toTag: answered ? call.toTag : '',
      maxDurationMs: this.maxCallMs,
      lifecycle: true,
      restored: answered
        ? { phase: 'answered', answeredAt: call.answeredAt, toTag: call.toTag }
        : { phase: 'ringing', timerCMs: this.timerCMs, reason: call.reason },
    });
    const owner = this.owners.get(key);
    // A ringing one waits in its machine's 'recovering' state (onResponse shows it its answer).
    if (!answered || !owner || owner.actor.getSnapshot().status !== 'active') return;
    const d = dialogKey(call.callId, call.fromTag, call.toTag);
    this.dialogs.set(d, key);
    owner.dialogs.push(d);
  }

  /** One datagram in. Nothing a peer sends may throw out of here. */
  receive(data: Buffer, source: Address): void {
    this.received++;
    try {
      this.dispatch(data, source);
    } catch (e) {
      // Not supposed to happen: every input error has its own path. Counted so tests can insist.
      this.internalErrors++;
      this.log.error(`dropped a message from ${source.host}:${source.port}: ${(e as Error).stack ?? e}`);
    }
  }

  stop(): void {
    for (const m of [this.serverTx, this.clientTx, this.owners]) {
      for (const r of m.values()) r.actor.stop();
      m.clear();
    }
    this.dialogs.clear();
    this.location.close();
  }

  private dispatch(data: Buffer, source: Address): void {
    const guard = this.guard;
    if (guard && !guard.admitDatagram(source.host)) return;
    const parsed = parseDatagram(data, this.limits);
    if (!parsed.ok) {
      this.badMessages++;
      this.log.warn(`bad message from ${source.host}:${source.port}: ${parsed.error}`);
      if (parsed.request) this.rejectStatelessly(parsed.request, source, 400, `Bad Request (${parsed.error})`);
      return;
    }
    const msg = parsed.message;
    const info = messageInfo(msg);
    if (!info.ok) {
      this.badMessages++;
      this.log.warn(`bad ${msg.kind} from ${source.host}:${source.port}: ${info.error}`);
      if (msg.kind === 'request') this.rejectStatelessly(msg, source, 400, `Bad Request (${info.error})`);
      return;
    }
    if (msg.kind === 'response') return this.onResponse(msg, info.info);
    // Scanners and floods are dropped unanswered: an answer only tells them someone is here.
    if (guard && !guard.admitRequest(source.host)) return;
    if (this.isScanner?.(getHeader(msg, 'user-agent'))) {
      this.scannersDropped++;
      return;
    }
    const insane = checkSanity(msg, this.sanity);
    if (insane) {
      this.badMessages++;
      this.log.warn(`rejected ${msg.method} from ${source.host}:${source.port}: ${insane.status} ${insane.reason ?? ''}`);
      this.rejectStatelessly(msg, source, insane.status, insane.reason);
      return;
    }
    // §18.2.1 / RFC 3581: the top Via stamped once, for the request passed on and for its replies.
    const topVia = stampedVia(info.info.topVia, source);
    this.onRequest(topVia === info.info.topVia ? msg : withTopVia(msg, topVia), info.info, source, topVia);
  }

  /**
   * An answer with no transaction, if the top Via lets us answer at all: a 400 for a request too
   * broken for one (§16.3), or what a CANCEL without its INVITE gets when it is not forwarded (onCancel).
   */
  private rejectStatelessly(req: SipRequest, source: Address, status: number, reason?: string, headers?: Array<[string, string]>): void {
    if (req.method === 'ACK') return;
    const viaText = getHeaderValues(req, 'via')[0];
    const via = viaText ? parseVia(viaText) : null;
    if (!via) return;
    const stamped = stampTopVia(req, source);
    const to = responseAddressOf(stamped);
    if (!to) return;
    const phrase = reason?.replace(/[\r\n]/g, ' ').slice(0, 120);
    const toTag = statelessTag(getHeader(req, 'call-id') ?? '', tagOf(getHeader(req, 'from')), getParam(via.params, 'branch') ?? null);
    this.sendResponse(buildResponse(stamped, status, { toTag, ...(phrase ? { reason: phrase } : {}), ...(headers ? { headers } : {}) }), to);
  }

  // ---- responses (§16.7, §17.1.3) ----

  private onResponse(res: SipResponse, info: MessageInfo): void {
    const tx = info.branch ? this.clientTx.get(clientTransactionKey(info.branch, info.cseq.method)) : undefined;
    if (tx) {
      tx.actor.send({ type: 'response', response: res });
      return;
    }
    // No transaction (e.g. a 2xx retransmission after it ended): forward statelessly if the top Via is ours (§16.11).
    if (!this.me.isOwnSentBy(info.topVia.host, info.topVia.port)) return;
    // RFC 4320 §4.3: no non-INVITE response goes on without its server transaction, so a late one
    // (its client transaction gone) stops here; only a CANCEL's on a branch of the stateless form
    // (one we passed on with no INVITE here, §16.10; or, late, one we made on an INVITE's branch,
    // which has that form too, inviteBranch) goes on this way.
    if (info.cseq.method !== 'INVITE' && !(info.cseq.method === 'CANCEL' && info.branch !== null && isStatelessBranch(info.branch))) return;
    // Restart recovery: the final response of an INVITE an earlier process forwarded, shown to
    // its restored call first (its outcome is journaled before the response goes on).
    // Only a call in 'recovering' takes it; a 2xx retransmission finds it confirmed, where it passes.
    if (res.status >= 200 && info.cseq.method === 'INVITE') this.owners.get(restoredKey(info.callId, info.fromTag ?? ''))?.actor.send({ type: 'stateless.final', response: res });
    const up = stripOwnVia(res);
    const to = responseAddressOf(up);
    // Never to our own address: no transaction of ours waits for it (they keep 64*T1 for the 2xx
    // retransmissions, RFC 6026), and a response stacked with our Vias would come back once a Via.
    // Only to an address literal: every Via we forward a request under carries the packet's
    // `received` (§18.2.1), so a name there is forged; it would cost a lookup and could be this
    // proxy under another name.
    if (to && isIP(to.host) !== 0 && !this.me.isOwnAddress(to.host, to.port)) this.sendResponse(up, to);
  }

  // ---- requests ----

  /** `topVia`: the request's top Via as stamped on receipt (§18.2.1, RFC 3581 §4). */
  private onRequest(req: SipRequest, info: MessageInfo, source: Address, topVia: Via): void {
    if (req.method === 'ACK') return this.onAck(req, info);
    const key = serverTransactionKey(req, info);
    const existing = this.serverTx.get(key);
    if (existing) {
      existing.actor.send({ type: 'request' });
      return;
    }
    // Where this transaction's responses go (§18.2.2, RFC 3581 §4).
    const replyTo = responseAddress(topVia);
    if (req.method === 'CANCEL') return this.onCancel(req, info, key, replyTo, source);
    const st = this.createServerTransaction(key, req, replyTo);
    this.route(req, info, key, st, source);
  }

  /** ACK for a non-2xx ends the INVITE server transaction hop by hop; ACK for a 2xx is routed on (§16.7, §17.2.3). */
  private onAck(req: SipRequest, info: MessageInfo): void {
    const st = this.serverTx.get(serverTransactionKey(req, info, 'INVITE'));
    if (st) {
      st.actor.send({ type: 'ack' });
      return;
    }
    // The ACK of an INVITE we rejected with no transaction (rejectStatelessly) ends here.
    if (info.toTag !== null && info.toTag.startsWith('sl') && info.toTag === statelessTag(info.callId, info.fromTag, info.branch)) return;
    // §16.3 step 3 as for any request passed on, but an ACK is never answered: dropped.
    const hops = checkMaxForwards(req);
    if (hops) {
      if (hops.status === 400) this.log.warn(`dropped an ACK sent by ${info.topVia.host}: ${hops.reason}`);
      return;
    }
    this.forwardStatelessly(req, info);
  }

  /**
   * CANCEL (§16.10). With the INVITE's server transaction here: 200 at once, then the call cancels
   * its pending branches. Without one there is no response context, and the proxy "MUST statelessly
   * forward" it (it may have forwarded the INVITE statelessly, §16.11): no transaction of its own, so
   * a CANCEL flood leaves nothing behind; each retransmission is validated and forwarded again with
   * the same branch, and the answers come back as stray responses with our Via on top (onResponse).
   * With nowhere to send it, nothing here or beyond can hold the INVITE: 481, as a UAS answers a
   * CANCEL matching no transaction (§9.2), sent statelessly so that retransmissions get it again.
   */
  private onCancel(req: SipRequest, info: MessageInfo, key: string, replyTo: Address, source: Address): void {
    const invite = this.serverTx.get(serverTransactionKey(req, info, 'INVITE'));
    if (invite) {
      const st = this.createServerTransaction(key, req, replyTo);
      this.respond(st, this.localResponse(st, 200));
      const owner = invite.owner ? this.owners.get(invite.owner) : undefined;
      if (owner?.kind === 'call') owner.actor.send({ type: 'cancel' });
      return;
    }
    // §16.11: a stateless proxy validates as §16.3 asks (Max-Forwards, loops) before forwarding.
    const rejection = validateRequest(req, info, this.me);
    if (rejection) return this.rejectStatelessly(req, source, rejection.status, rejection.reason, rejection.headers);
    // Only to a phone registered here, the INVITE's own target when this proxy forwarded it (a
    // restart lost its transaction): along a Route or to another domain a CANCEL of nothing known
    // would be a relay for anyone, and one naming this proxy under other names spiralled.
    if (!this.forwardStatelessly(req, info, true)) return this.rejectStatelessly(req, source, 481);
    // A call restored ringing after a restart has no INVITE transaction here: the CANCEL went on, on
    // its INVITE's branch (inviteBranch), and the call learns that its caller hung up.
    this.owners.get(restoredKey(info.callId, info.fromTag ?? ''))?.actor.send({ type: 'cancel' });
  }

  /**
   * Passes on a request that has no transaction here (§16.11): an ACK for a 2xx, a CANCEL without
   * its INVITE. Route processing (§16.4), one target (statelessTarget), our Via with a branch each
   * retransmission gets again; a CANCEL hashes as its INVITE does (CSeq number, not method), so it
   * gets the branch a stateless forward of that INVITE would have. False when nothing was sent.
   */
  private forwardStatelessly(req: SipRequest, info: MessageInfo, onlyToBindings = false): boolean {
    const preprocessed = preprocessRoute(req, this.me);
    const target = this.statelessTarget(preprocessed, onlyToBindings);
    if (!target) return false;
    // With authentication on, it goes on only through a Route we put in a dialog or to one of our
    // users (no relaying for strangers), and without our realm's credentials (an ACK repeats the
    // INVITE's, §13.2.2.4; they are for us, §22.3). Neither is challenged (§22.1).
    const auth = this.authenticator;
    if (auth && target.uri === undefined && !routedByUs(req, this.me)) return false;
    const routed = auth ? auth.consumeCredentials(preprocessed, 'proxy') : preprocessed;
    const fwd = buildForwardedRequest(routed, this.me, {
      target: target.uri,
      branch: statelessBranch(loopHash(req, info), info.branch),
      recordRoute: false,
    });
    this.sendToName(serialize(fwd), target.destination);
    return true;
  }

  /**
   * A request passed on with no transaction: to an address as it is; to a name once resolved,
   * unless it is this proxy under another name (it would come back, once a hop).
   */
  private sendToName(bytes: Buffer, to: Destination): void {
    if (isIP(to.host) !== 0) return this.transport.send(bytes, to.host, to.port);
    this.resolver.resolve(to.host).then((address) => {
      if (address !== null && !this.me.isOwnAddress(address, to.port)) this.transport.send(bytes, address, to.port);
    }).catch((e) => this.asyncError(e));
  }

  /** Validation, Route preprocessing, authorization and the target set (§16.3-§16.5, §22), then forwarding (§16.6). */
  private route(req: SipRequest, info: MessageInfo, key: string, st: ServerTxRecord, source: Address): void {
    const rejection = validateRequest(req, info, this.me);
    if (rejection) {
      // §16.3 step 3: an OPTIONS that has run out of hops is answered by the element itself.
      if (rejection.status === 483 && req.method === 'OPTIONS') return this.respond(st, optionsResponse(req, st.toTag));
      return this.reject(st, rejection);
    }
    const preprocessed = preprocessRoute(req, this.me);
    // §10.3 step 2, before step 3's credentials: a REGISTER requiring an extension we lack (src/proxy/require.ts).
    const badExtension = registrarRequireRejection(preprocessed, this.me);
    if (badExtension) return this.reject(st, badExtension);
    // §22: credentials are checked (and ours consumed) before anything is registered or forwarded.
    const auth = this.authenticator;
    const authorized = auth ? authorizeRequest(req, preprocessed, info, { authenticator: auth, me: this.me, guard: this.guard, source: source.host, log: this.log }) : null;
    if (authorized && !authorized.ok) return this.reject(st, authorized.rejection);
    const routed = authorized ? authorized.request : preprocessed;
    const ruri = parseUri(routed.uri);
    if (!ruri) return this.reject(st, { status: 400, reason: 'Bad Request-URI' });
    const hasRoute = getHeaderValues(routed, 'route').length > 0;
    const local = !hasRoute && this.me.isLocalDomain(ruri);

    if (local && req.method === 'REGISTER') {
      return this.respond(st, handleRegister(routed, info, this.location, this.registrarPolicy, this.me, st.toTag, st.replyTo));
    }
    if (local && ruri.user === null) {
      if (req.method === 'OPTIONS') return this.respond(st, optionsResponse(req, st.toTag));
      return this.reject(st, { status: 404, reason: 'No user in Request-URI' });
    }

    let targets: Array<{ uri?: string; destination: Destination }>;
    let localFinal: { status: number; reason?: string } | undefined;
    if (hasRoute || !local) {
      const destination = nextHopOf(routed);
      if (!destination) return this.reject(st, { status: 416 });
      targets = [{ destination }];
    } else {
      const found = this.location.lookup(decodeUser(ruri.user!));
      targets = this.bindingTargets(found.bindings);
      if (!found.known) localFinal = { status: 404 };
      else if (targets.length === 0) localFinal = { status: 480 };
    }
    if (targets.some((t) => isIP(t.destination.host) === 0)) return this.forwardToNames(req, routed, info, key, st, targets);
    this.forward(req, routed, info, key, st, targets, localFinal);
  }

  /**
   * Targets named by a host name (a Route, a Request-URI of another domain, a Contact or its
   * maddr): resolved first (NameResolver), then forwarded to their addresses. A target that turns
   * out to be this proxy under another name (localhost, 127.1) is dropped: it would come back and
   * fork again, once a pass. A name with no address is a transport error before any datagram: as
   * if the branch got a 503 (§16.9), which goes up as 500 (§16.7 step 6), at once rather than after
   * Timer B or F. The server transaction absorbs retransmissions meanwhile; gone by the answer
   * (stop()), nothing is done.
   */
  private forwardToNames(req: SipRequest, routed: SipRequest, info: MessageInfo, key: string, st: ServerTxRecord, named: Array<{ uri?: string; destination: Destination }>): void {
    Promise.all(named.map((t) => (isIP(t.destination.host) !== 0 ? t.destination.host : this.resolver.resolve(t.destination.host)))).then((addresses) => {
      if (this.serverTx.get(key) !== st) return;
      // The caller's CANCEL came while the names were looked up (its 200 sent, no call to tell
      // yet): the INVITE goes nowhere, and gets its 487 (§9.2).
      if (req.method === 'INVITE' && this.serverTx.get(serverTransactionKey(req, info, 'CANCEL'))) return this.reject(st, { status: 487 });
      const targets: Array<{ uri?: string; destination: Destination }> = [];
      let unresolved = 0;
      named.forEach((t, i) => {
        const host = addresses[i];
        if (host === null || host === undefined) unresolved++;
        else if (!this.me.isOwnAddress(host, t.destination.port)) targets.push({ ...t, destination: { ...t.destination, host } });
      });
      if (targets.length > 0) return this.forward(req, routed, info, key, st, targets, undefined);
      if (unresolved > 0) {
        this.log.warn(`${req.method} to ${named.map((t) => t.destination.host).join(', ')}: the name does not resolve; answered 500`);
        return this.forward(req, routed, info, key, st, [], { status: 500, reason: 'Unresolvable destination' });
      }
      this.forward(req, routed, info, key, st, [], { status: 482 });
    }).catch((e) => this.asyncError(e));
  }

  /** What `receive()` does with a throw, for work resumed after a lookup (outside its try). */
  private asyncError(e: unknown): void {
    this.internalErrors++;
    this.log.error(`forwarding after a name lookup failed: ${(e as Error).stack ?? e}`);
  }

  /** Forwarding (§16.6): the response context (call or relay actor) and one client transaction a target. */
  private forward(req: SipRequest, routed: SipRequest, info: MessageInfo, key: string, st: ServerTxRecord, targets: Array<{ uri?: string; destination: Destination }>, localFinal: { status: number; reason?: string } | undefined): void {
    const inDialog = info.toTag !== null;
    if (localFinal && (req.method !== 'INVITE' || inDialog)) return this.reject(st, localFinal);
    // Each open call holds a call actor until its BYE (or --max-call-seconds): a peer that answers
    // and never hangs up must not grow the proxy without bound.
    if (req.method === 'INVITE' && !inDialog && this.liveCalls >= this.maxCalls) return this.reject(st, { status: 503, reason: 'Too many calls' });
    const loop = loopHash(req, info);
    const branches = targets.map((t, i) => ({ ...t, branch: req.method === 'INVITE' ? this.inviteBranchOf(loop, info.branch, i) : newBranch(loop) }));
    const ownerKey = key;
    if (req.method === 'INVITE') {
      const from = parseNameAddr(getHeader(req, 'from') ?? '')?.uri;
      const to = parseNameAddr(getHeader(req, 'to') ?? '')?.uri;
      // Strings of their own: the call keeps them, and its journal events, as long as it lasts
      // (an hour's call, an hour), and a cut of the INVITE would keep the INVITE's whole text.
      this.spawnOwner(ownerKey, 'call', callMachine, {
        request: req,
        callId: ownString(info.callId),
        fromTag: ownString(info.fromTag ?? ''),
        from: from ? ownString(aorOf(from)) : '',
        to: to ? ownString(aorOf(to)) : '',
        branches: branches.map((b) => clientTransactionKey(b.branch, 'INVITE')),
        toTag: st.toTag,
        ...(localFinal ? { localFinal } : {}),
        maxDurationMs: this.maxCallMs,
        // A spiral (the INVITE came back to us with a new target) is the same call: only its
        // first pass through the proxy keeps the call's lifecycle (§16.3 step 4).
        lifecycle: !inDialog && !carriesOwnVia(req, this.me),
      });
    }
    // §15.1: a BYE ends its call's session as it passes (the call log's end); it is forwarded as any request.
    if (req.method === 'BYE') {
      const call = this.dialogs.get(dialogKey(info.callId, info.fromTag, info.toTag));
      if (call) this.owners.get(call)?.actor.send({ type: 'bye' });
    }
    // A forked non-INVITE needs a response context to pick the best answer; one branch relays directly.
    if (req.method !== 'INVITE' && branches.length > 1) {
      this.spawnOwner(ownerKey, 'relay', relayMachine, { branches: branches.map((b) => clientTransactionKey(b.branch, req.method)) });
    }
    st.owner = ownerKey;
    const recordRoute = !inDialog && isDialogCreating(req.method);
    for (const b of branches) {
      const fwd = buildForwardedRequest(routed, this.me, { ...(b.uri ? { target: b.uri } : {}), branch: b.branch, recordRoute });
      this.createClientTransaction(clientTransactionKey(b.branch, req.method), fwd, b.destination, ownerKey);
    }
  }

  /**
   * The one target of a request passed on with no transaction (§16.11: a stateless proxy picks one,
   * from the message and what does not change with time): Route, else a Request-URI elsewhere,
   * else the first binding of its AOR (`onlyToBindings`: that or nothing). Never the proxy itself:
   * it would come back, once a hop until Max-Forwards runs out.
   */
  private statelessTarget(req: SipRequest, onlyToBindings: boolean): { uri?: string; destination: Destination } | null {
    const routed = getHeaderValues(req, 'route').length > 0;
    const ruri = routed ? null : parseUri(req.uri);
    const local = ruri !== null && this.me.isLocalDomain(ruri);
    if (onlyToBindings && !local) return null;
    if (ruri && local) {
      if (ruri.user === null) return null;
      return this.bindingTargets(this.location.lookup(decodeUser(ruri.user)).bindings)[0] ?? null;
    }
    const destination = routed ? nextHopOf(req) : ruri ? destinationOf(ruri) : null;
    return destination && !this.me.isOwnAddress(destination.host, destination.port) ? { destination } : null;
  }

  /**
   * Where an AOR's bindings are reached: each Contact as the Request-URI, its address (§16.5). A
   * binding that is this proxy (restored from an older journal) is none: it would loop and fork
   * again. Names are resolved, and checked the same way, when the request goes out.
   */
  private bindingTargets(bindings: readonly Binding[]): Array<{ uri: string; destination: Destination }> {
    const targets: Array<{ uri: string; destination: Destination }> = [];
    for (const b of bindings) {
      const u = parseUri(b.contact);
      const destination = u ? destinationOf(u) : null;
      if (destination && !this.me.isOwnAddress(destination.host, destination.port)) targets.push({ uri: b.contact, destination });
    }
    return targets;
  }

  // ---- actors ----

  private createServerTransaction(key: string, req: SipRequest, replyTo: Address): ServerTxRecord {
    const record = new ServerTxRecord(this.serverTxHandlers, key, replyTo, req, newTag());
    const invite = req.method === 'INVITE';
    const input = { request: req, timers: this.timers, reliable: false };
    record.actor = new MachineActor(invite ? inviteServerTransaction : nonInviteServerTransaction, input, this.system, record);
    this.serverTx.set(key, record);
    record.actor.start();
    return record;
  }

  /**
   * inviteBranch, unless a client transaction of an earlier forward of this INVITE still lingers on
   * it (its server transaction ended first, then a retransmission came): then a branch of its own.
   */
  private inviteBranchOf(loop: string, received: string | null, index: number): string {
    const branch = inviteBranch(loop, received, index);
    return this.clientTx.get(clientTransactionKey(branch, 'INVITE')) ? newBranch(loop) : branch;
  }

  private createClientTransaction(key: string, req: SipRequest, destination: Destination, owner: string | null): void {
    const record = new ClientTxRecord(this.clientTxHandlers, key, destination, owner, req.method);
    const invite = req.method === 'INVITE';
    const input = invite
      ? { request: req, timers: this.timers, reliable: false, timerC: this.timerCMs }
      : { request: req, timers: this.timers, reliable: false };
    record.actor = new MachineActor(invite ? inviteClientTransaction : nonInviteClientTransaction, input, this.system, record);
    this.clientTx.set(key, record);
    record.actor.start();
  }

  /**
   * A branch's news to its response context. 100 Trying stops here (hop by hop, §16.7 step 5).
   * Without a context actor the branch relays straight to its server transaction: a single-branch
   * non-INVITE request (nothing to choose between), or an INVITE whose call has ended, of which
   * only 2xx retransmissions still go upstream (§16.7 step 10). A non-INVITE branch that times out
   * is answered with nothing: RFC 4320 §4.2 forbids the 408, and the server transaction ends
   * without a response (expireServerTransaction).
   */
  private toOwner(tx: ClientTxRecord, event: { type: 'branch.response'; branch: string; response: SipResponse } | { type: 'branch.timeout'; branch: string }): void {
    if (event.type === 'branch.response' && event.response.status === 100) return;
    if (!tx.owner) return;
    const owner = this.owners.get(tx.owner);
    if (owner) {
      owner.actor.send(event);
      return;
    }
    const st = this.serverTx.get(tx.owner);
    const invite = tx.method === 'INVITE';
    const status = event.type === 'branch.timeout' ? 408 : event.response.status;
    if (invite && (status < 200 || status >= 300)) return;
    if (event.type === 'branch.timeout') {
      if (st) this.expireServerTransaction(st);
    } else {
      // §16.7 step 6 for a lone branch too: its 503 goes up as 500 (the caller must not take it
      // for this proxy being unavailable), its challenge as any (chooseBestResponse).
      const stripped = stripOwnVia(event.response);
      const up = status >= 300 ? (chooseBestResponse([stripped]) ?? stripped) : stripped;
      if (st) this.respond(st, up);
      else if (status < 300) {
        const to = responseAddressOf(up);
        if (to) this.sendResponse(up, to);
      }
    }
  }

  private spawnOwner(key: string, kind: 'call' | 'relay', logic: AnyStateMachine, input: unknown): void {
    const record = new OwnerRecord(this.ownerHandlers, key, kind);
    record.actor = new MachineActor(logic, input, this.system, record);
    this.owners.set(key, record);
    if (kind === 'call') this.liveCalls++;
    record.actor.start();
  }

  // What the actors' records call back (src/actors/actorRecords.ts): one handler object per kind.

  private readonly actorFailed = (err: unknown, machineId: string): void => {
    this.internalErrors++;
    this.log.error(`actor ${machineId} failed: ${(err as Error)?.stack ?? err}`);
  };

  private readonly serverTxHandlers: RecordHandlers<ServerTxRecord, TransactionEmitted> = {
    emitted: (record, e) => {
      if (e.type === 'transmit') {
        // What respond() gave is in its final form already; the transaction's own (its 100 Trying) is not.
        const m = e.message;
        if (m instanceof PackedResponse) this.transport.send(serialize(m), record.replyTo.host, record.replyTo.port);
        else this.sendResponse(m, record.replyTo);
      } else if (e.type === 'ackTimeout') this.log.debug(`no ACK for ${record.key}`);
    },
    done: (record) => dropIfCurrent(this.serverTx, record.key, record),
    failed: this.actorFailed,
  };

  private readonly clientTxHandlers: RecordHandlers<ClientTxRecord, TransactionEmitted> = {
    emitted: (record, e) => {
      const key = record.key;
      switch (e.type) {
        case 'transmit':
          this.transport.send(serialize(e.message), record.destination.host, record.destination.port);
          break;
        case 'response':
          this.toOwner(record, { type: 'branch.response', branch: key, response: e.response });
          break;
        case 'timeout':
          this.toOwner(record, { type: 'branch.timeout', branch: key });
          break;
        case 'sendCancel': {
          const branch = key.slice(0, key.lastIndexOf('|'));
          this.createClientTransaction(clientTransactionKey(branch, 'CANCEL'), e.cancel, record.destination, null);
          break;
        }
      }
    },
    done: (record) => dropIfCurrent(this.clientTx, record.key, record),
    failed: this.actorFailed,
  };

  private readonly ownerHandlers: RecordHandlers<OwnerRecord, CallEmitted | RelayEmitted> = {
    emitted: (record, e) => {
      const key = record.serverKey;
      switch (e.type) {
        case 'respond':
          this.respondTo(key, e.response);
          break;
        case 'expire': {
          const st = this.serverTx.get(key);
          if (st) this.expireServerTransaction(st);
          break;
        }
        case 'cancelBranches':
          for (const b of e.branches) this.clientTx.get(b)?.actor.send({ type: 'cancel' });
          break;
        case 'lifecycle':
          this.onLifecycle?.(e.event);
          break;
        case 'dialog': {
          const d = dialogKey(getHeader(e.response, 'call-id') ?? '', tagOf(getHeader(e.response, 'from')), tagOf(getHeader(e.response, 'to')));
          this.dialogs.set(d, key);
          record.dialogs.push(d);
          break;
        }
      }
    },
    done: (record) => {
      if (record.kind === 'call') this.liveCalls--;
      const key = record.serverKey;
      if (!dropIfCurrent(this.owners, key, record)) return;
      for (const d of record.dialogs) if (this.dialogs.get(d) === key) this.dialogs.delete(d);
    },
    failed: this.actorFailed,
  };

  // ---- sending ----

  /**
   * Every response reaches its server transaction here, in the form it goes out (reason phrase
   * rewritten) and as wire text: the transaction may resend it, and keeps it while it lingers.
   * After a final response the request is let go.
   */
  private respond(st: ServerTxRecord, response: SipResponse): void {
    if (response.status >= 200) st.request = null;
    const out = this.rewriteResponse ? this.rewriteResponse(response) : response;
    st.actor.send({ type: 'respond', response: packResponse(out) });
  }

  /**
   * A non-INVITE request no branch answered before its client transactions expired (Timer F): no
   * 408, no response at all (RFC 4320 §4.2); the server transaction ends now and its record goes.
   * A retransmission after that is a new transaction, forwarded again: with the sender's T1 as
   * ours that does not happen, since its Timer F started before ours and fires first; with a
   * longer T1 each new transaction still ends by our Timer F, and the sender stops at its own.
   */
  private expireServerTransaction(st: ServerTxRecord): void {
    st.request = null;
    st.actor.send({ type: 'expire' });
  }

  private respondTo(serverKey: string, response: SipResponse): void {
    const st = this.serverTx.get(serverKey);
    if (st) this.respond(st, response);
  }

  private reject(st: ServerTxRecord, r: Rejection): void {
    this.respond(st, this.localResponse(st, r.status, r.reason, r.headers));
  }

  /** A response generated here (§8.2.6): only before the transaction's final response. */
  private localResponse(st: ServerTxRecord, status: number, reason?: string, headers?: Array<[string, string]>): SipResponse {
    return buildResponse(st.request!, status, { toTag: st.toTag, ...(reason ? { reason } : {}), ...(headers ? { headers } : {}) });
  }

  private sendResponse(res: SipMessage, to: Address): void {
    const out = res.kind === 'response' && this.rewriteResponse ? this.rewriteResponse(res) : res;
    this.transport.send(serialize(out), to.host, to.port);
  }
}

/** Removes an ended actor's record, unless its key has been taken by a newer one; true if removed. */
function dropIfCurrent<R>(map: Pick<Map<string, R>, 'get' | 'delete'>, key: string, record: R): boolean {
  if (map.get(key) !== record) return false;
  map.delete(key);
  return true;
}

/** A restored call's owner key: no server transaction has it (theirs are branch-based, §17.2.3). */
function restoredKey(callId: string, fromTag: string): string {
  return `restored|${callId}|${fromTag}`;
}

function decodeUser(user: string): string {
  try {
    return decodeURIComponent(user);
  } catch {
    return user;
  }
}
