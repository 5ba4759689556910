import type { MachineActor, MachineActorHooks } from './machineActor.js';
import type { SipRequest } from '../sip/message.js';
import type { Address } from '../transport/viaAddressing.js';
import type { Destination } from '../proxy/nextHop.js';
import type { TransactionEmitted } from '../machines/events.js';
import type { CallEmitted } from '../machines/call.js';
import type { RelayEmitted } from '../machines/relay.js';

/** What the supervisor does when an actor of one kind emits, ends or fails: one object per kind. */
export interface RecordHandlers<R, E> {
  emitted(record: R, e: E): void;
  done(record: R): void;
  failed(err: unknown, machineId: string): void;
}

/**
 * The supervisor's record of an actor, which is also that actor's hooks (MachineActorHooks):
 * methods on one object calling the shared handlers of its kind, instead of closures per actor,
 * which every transaction would keep alive for the 32 s it lingers (64*T1, RFC 3261 §17;
 * measured in BENCHMARKS.md, profile findings).
 */
abstract class ActorRecord<R extends ActorRecord<R, E>, E> implements MachineActorHooks<E> {
  actor!: MachineActor<E>;

  constructor(private readonly handlers: RecordHandlers<R, E>) {}

  onEmit(e: E): void {
    this.handlers.emitted(this as unknown as R, e);
  }
  onDone(): void {
    this.handlers.done(this as unknown as R);
  }
  onError(err: unknown, machineId: string): void {
    this.handlers.failed(err, machineId);
  }
}

/** A server transaction (§17.2) by its key (§17.2.3). */
export class ServerTxRecord extends ActorRecord<ServerTxRecord, TransactionEmitted> {
  /** The response context (call or relay) it answers for: its own key once the request is forwarded. */
  owner: string | null = null;

  constructor(
    handlers: RecordHandlers<ServerTxRecord, TransactionEmitted>,
    readonly key: string,
    /** Where its responses go (§18.2.2). */
    readonly replyTo: Address,
    /** For the responses the proxy generates itself; dropped once a final response went out. */
    public request: SipRequest | null,
    /** To tag of the responses generated here (§8.2.6.2). */
    readonly toTag: string,
  ) {
    super(handlers);
  }
}

/** A client transaction (§17.1): one branch of a forwarded request (§16.6). */
export class ClientTxRecord extends ActorRecord<ClientTxRecord, TransactionEmitted> {
  constructor(
    handlers: RecordHandlers<ClientTxRecord, TransactionEmitted>,
    readonly key: string,
    readonly destination: Destination,
    /** The response context's key, which is also its server transaction's key. */
    readonly owner: string | null,
    readonly method: string,
  ) {
    super(handlers);
  }
}

/** A response context (§16.7): a call (INVITE and its dialog) or a relay (a forked non-INVITE). */
export class OwnerRecord extends ActorRecord<OwnerRecord, CallEmitted | RelayEmitted> {
  /** Dialog ids this call confirmed, indexed for in-dialog requests. */
  readonly dialogs: string[] = [];

  constructor(
    handlers: RecordHandlers<OwnerRecord, CallEmitted | RelayEmitted>,
    /** Its key, which is also its server transaction's key. */
    readonly serverKey: string,
    readonly kind: 'call' | 'relay',
  ) {
    super(handlers);
  }
}
