import { SourceGuard, type GuardEvents, type GuardPolicy } from '../security/sourceGuard.js';

/**
 * A worker's flood and password-guessing guard. Requests are counted here, each worker against
 * its share of --rate-limit: the Call-ID hash spreads a source's requests over the workers.
 * Failed authentications are not counted here: a guesser that takes a new Call-ID for every
 * attempt reaches every worker, so each failure goes to the primary, whose one guard decides
 * bans and user locks for the whole proxy and passes them to every worker. A success is
 * remembered here and, when news (a new address, or half its time gone), reported too: a lock
 * the primary passes on names the addresses exempt from it, since the phone's next request may
 * take a Call-ID another worker owns.
 */
export class WorkerGuard extends SourceGuard {
  constructor(policy: GuardPolicy, workers: number, events: GuardEvents, private readonly report: AuthReports) {
    super({ ...policy, requestsPerSecond: policy.requestsPerSecond > 0 ? Math.ceil(policy.requestsPerSecond / workers) : 0 }, events);
  }

  override authFailed(source: string, user: string | null): void {
    this.report.failed(source, user);
  }

  override authSucceeded(source: string, user: string): boolean {
    if (!super.authSucceeded(source, user)) return false;
    this.report.succeeded(source, user);
    return true;
  }
}

/** What a worker tells the primary's guard. */
export interface AuthReports {
  failed(source: string, user: string | null): void;
  succeeded(source: string, user: string): void;
}
