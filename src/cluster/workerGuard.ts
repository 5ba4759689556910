import { SourceGuard, type GuardEvents, type GuardPolicy } from '../security/sourceGuard.js';

/**
 * A worker's flood and password-guessing guard. Requests are counted here, each worker against
 * its share of --rate-limit: the Call-ID hash spreads a source's requests over the workers.
 * Failed authentications are not counted here: a guesser that takes a new Call-ID for every
 * attempt reaches every worker, so each failure goes to the primary, whose one guard decides
 * bans and user locks for the whole proxy and passes them to every worker.
 */
export class WorkerGuard extends SourceGuard {
  constructor(policy: GuardPolicy, workers: number, events: GuardEvents, private readonly reportFailure: (source: string, user: string | null) => void) {
    super({ ...policy, requestsPerSecond: policy.requestsPerSecond > 0 ? Math.ceil(policy.requestsPerSecond / workers) : 0 }, events);
  }

  override authFailed(source: string, user: string | null): void {
    this.reportFailure(source, user);
  }
}
