import type { MachineActor, MachineActorHooks } from './machineActor.js';
import type { SipRequest } from '../sip/message.js';
import type { Address } from '../transport/viaAddressing.js';
import type { Destination } from '../proxy/nextHop.js';
import type { TransactionEmitted } from '../machines/events.js';
import type { CallEmitted } from '../machines/call.js';
import type { RelayEmitted } from '../machines/relay.js';

/** What the supervisor does when one of its actors emits, ends or fails. */
export interface ActorRecordHost {
  serverTransactionEmitted(record: ServerTxRecord, e: TransactionEmitted): void;
  serverTransactionDone(record: ServerTxRecord): void;
  clientTransactionEmitted(record: ClientTxRecord, e: TransactionEmitted): void;
  clientTransactionDone(record: ClientTxRecord): void;
  ownerEmitted(record: OwnerRecord, e: CallEmitted | RelayEmitted): void;
  ownerDone(record: OwnerRecord): void;
  actorFailed(err: unknown, machineId: string): void;
}

/*
 * The supervisor's record of each actor is also that actor's hooks (MachineActorHooks): methods on
 * one object instead of closures per actor, which every transaction would keep alive for the 32 s
 * it lingers (64*T1, RFC 3261 §17; measured in BENCHMARKS.md, profile findings).
 */

/** A server transaction (§17.2) by its key (§17.2.3). */
export class ServerTxRecord implements MachineActorHooks<TransactionEmitted> {
  actor!: MachineActor<TransactionEmitted>;
  /** The response context (call or relay) it answers for: its own key once the request is forwarded. */
  owner: string | null = null;

  constructor(
    private readonly host: ActorRecordHost,
    readonly key: string,
    /** Where its responses go (§18.2.2). */
    readonly replyTo: Address,
    /** For the responses the proxy generates itself; dropped once a final response went out. */
    public request: SipRequest | null,
    /** To tag of the responses generated here (§8.2.6.2). */
    readonly toTag: string,
  ) {}

  onEmit(e: TransactionEmitted): void {
    this.host.serverTransactionEmitted(this, e);
  }
  onDone(): void {
    this.host.serverTransactionDone(this);
  }
  onError(err: unknown, machineId: string): void {
    this.host.actorFailed(err, machineId);
  }
}

/** A client transaction (§17.1): one branch of a forwarded request (§16.6). */
export class ClientTxRecord implements MachineActorHooks<TransactionEmitted> {
  actor!: MachineActor<TransactionEmitted>;

  constructor(
    private readonly host: ActorRecordHost,
    readonly key: string,
    readonly destination: Destination,
    /** The response context's key, which is also its server transaction's key. */
    readonly owner: string | null,
    readonly method: string,
  ) {}

  onEmit(e: TransactionEmitted): void {
    this.host.clientTransactionEmitted(this, e);
  }
  onDone(): void {
    this.host.clientTransactionDone(this);
  }
  onError(err: unknown, machineId: string): void {
    this.host.actorFailed(err, machineId);
  }
}

/** A response context (§16.7): a call (INVITE and its dialog) or a relay (a forked non-INVITE). */
export class OwnerRecord implements MachineActorHooks<CallEmitted | RelayEmitted> {
  actor!: MachineActor<CallEmitted | RelayEmitted>;
  /** Dialog ids this call confirmed, indexed for in-dialog requests. */
  readonly dialogs: string[] = [];

  constructor(
    private readonly host: ActorRecordHost,
    /** Its key, which is also its server transaction's key. */
    readonly serverKey: string,
    readonly kind: 'call' | 'relay',
  ) {}

  onEmit(e: CallEmitted | RelayEmitted): void {
    this.host.ownerEmitted(this, e);
  }
  onDone(): void {
    this.host.ownerDone(this);
  }
  onError(err: unknown, machineId: string): void {
    this.host.actorFailed(err, machineId);
  }
}
