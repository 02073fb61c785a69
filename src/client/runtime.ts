import { EventEmitter } from "node:events";
import { type Actor, createActor, fromPromise, toPromise } from "xstate";
import { backoffDelay } from "../otp/backoff.js";
import { clientMachine, type SnapshotTrigger } from "./client-machine.js";
import type { Connection, Connector } from "./connection.js";
import { inbox } from "./inbox.js";
import { IqRequests } from "./iq-requests.js";
import type { ClientSettings } from "./options.js";
import { probe, type SnapshotOutcome, takeSnapshot } from "./snapshot-pager.js";
import type {
  ClientHealth,
  PresenceChange,
  PresenceClient,
  PresenceClientEvents,
  SnapshotEvent,
} from "./types.js";
import { ViewSplice } from "./view-splice.js";
import { initialPresence, receipt } from "./wire.js";

interface Session {
  readonly connection: Connection;
  readonly iq: IqRequests;
}

/**
 * The client: the lifecycle machine (src/client/client-machine.ts) given its
 * I/O, the view (src/client/view-splice.ts) fed by the inbox
 * (src/client/inbox.ts), and what it reports (events and health).
 */
export class ClientRuntime implements PresenceClient {
  private readonly events = new EventEmitter();
  private readonly splice: ViewSplice;
  private readonly actor: Actor<typeof clientMachine>;
  private session: Session | undefined;
  private closing: Promise<void> = Promise.resolve();
  private readonly stats = { snapshots: 0, resyncs: 0, reconnects: 0, refused: 0, receiptsSent: 0 };
  private lastSnapshotAt: number | undefined;
  private supported: boolean | undefined;
  private lastWarning: string | undefined;
  private phaseSeen = "";
  private connectedBefore = false;
  /** The reason of a resync signal that came while paging (reported with the snapshot it leads to). */
  private laterReason: string | undefined;

  constructor(
    private readonly s: ClientSettings,
    private readonly connector: Connector,
  ) {
    this.splice = new ViewSplice(s.window, s.bufferLimit, s.durableSeq);
    const backoff = { initial: s.reconnect.initial, max: s.reconnect.max, factor: 2, jitter: 0.2 };
    const logic = clientMachine.provide({
      actors: {
        connect: fromPromise(({ signal }) => this.connect(signal)),
        probe: fromPromise(() => this.probe()),
        page: fromPromise(({ signal }) => this.page(signal)),
        close: fromPromise(() => this.closing),
      },
      actions: {
        beginPaging: () => this.splice.beginPaging(),
        completed: (_, p) => this.completed(p.outcome, p.why),
        abandon: () => this.emitAll(this.splice.abandon()),
        dropSession: () => this.dropSession(),
        warn: (_, p) => this.warn(p.message),
      },
    });
    this.actor = createActor(logic, {
      clock: s.clock,
      input: { delayFor: (attempt) => backoffDelay(attempt, backoff, s.random) },
    });
    this.actor.subscribe({
      next: () => this.reportPhase(),
      error: (err) => this.warn(`internal error: ${String(err)}`),
    });
    this.actor.start();
  }

  start(): void {
    this.actor.send({ type: "start" });
  }

  async stop(): Promise<void> {
    if (this.actor.getSnapshot().status !== "active") return;
    this.actor.send({ type: "stop" });
    await toPromise(this.actor);
  }

  online(): ReadonlySet<string> {
    return this.splice.view;
  }

  isOnline(user: string): boolean {
    return this.splice.view.has(user);
  }

  health(): ClientHealth {
    const { duplicates, stale, redundant } = this.splice.counters;
    const snapshot = this.actor.getSnapshot();
    return {
      connected: this.session !== undefined,
      phase: phaseOf(snapshot.value),
      snapshotSupported: this.supported,
      lastSnapshotPosition: this.splice.position,
      lastSnapshotAt: this.lastSnapshotAt,
      online: this.splice.view.size,
      ...this.stats,
      duplicatesDropped: duplicates,
      staleDropped: stale,
      redundant,
      buffered: this.splice.buffered,
      lastError: snapshot.context.lastError ?? this.lastWarning,
    };
  }

  on<E extends keyof PresenceClientEvents>(
    event: E,
    listener: (...args: PresenceClientEvents[E]) => void,
  ): this {
    this.events.on(event, listener as (...args: unknown[]) => void);
    return this;
  }

  off<E extends keyof PresenceClientEvents>(
    event: E,
    listener: (...args: PresenceClientEvents[E]) => void,
  ): this {
    this.events.off(event, listener as (...args: unknown[]) => void);
    return this;
  }

  private async connect(signal: AbortSignal): Promise<void> {
    const { s } = this;
    let session: Session | undefined;
    let lost: string | undefined;
    const handle = inbox(s, {
      iq: (stanza) => session?.iq.answer(stanza),
      changes: (changes) => {
        for (const change of changes) {
          const outcome = this.splice.receive(change);
          if (outcome._tag === "applied") this.emit("change", outcome.change);
          if (outcome._tag === "overflow") this.actor.send({ type: "overflow" });
        }
      },
      resync: (reason, position) => {
        this.stats.resyncs++;
        if (this.splice.resync(position) === "snapshot")
          this.actor.send({ type: "resync", reason });
        else this.laterReason = reason;
      },
      refused: (why, fromDaemon) => {
        this.stats.refused++;
        if (fromDaemon) this.warn(`refused ${why}`);
      },
      receipt: (to, id) => {
        this.stats.receiptsSent++;
        session?.connection.send(receipt(to, id)).catch(() => undefined);
      },
    });
    const connection = await this.connector({
      stanza: handle,
      closed: (reason) => {
        lost = reason;
        if (session !== undefined && session === this.session) {
          this.actor.send({ type: "closed", reason });
        }
      },
    });
    if (signal.aborted) {
      await connection.close();
      return;
    }
    try {
      await connection.send(initialPresence());
      // Gone while the presence went out: this attempt failed.
      if (lost !== undefined) throw new Error(lost);
    } catch (err) {
      await connection.close().catch(() => undefined);
      throw err;
    }
    session = { connection, iq: new IqRequests((el) => connection.send(el), s.clock, s.timeoutMs) };
    if (this.connectedBefore) this.stats.reconnects++;
    this.connectedBefore = true;
    this.session = session;
    this.supported = undefined;
  }

  private async probe(): Promise<boolean> {
    const session = this.session;
    if (!session) return false;
    this.supported = await probe(session.iq, this.s.component).catch((err: Error) => {
      this.supported = false;
      throw err;
    });
    return this.supported;
  }

  private async page(signal: AbortSignal): Promise<SnapshotOutcome> {
    const session = this.session;
    if (!session) return { _tag: "failed", reason: "not connected" };
    return takeSnapshot(session.iq, this.s.component, this.s.pageSize, signal);
  }

  private completed(outcome: SnapshotOutcome, why: SnapshotTrigger): void {
    if (outcome._tag !== "complete") return;
    const { position, epoch, sessions } = outcome;
    const { differences, applied, again } = this.splice.complete(position, sessions);
    this.stats.snapshots++;
    this.lastSnapshotAt = this.s.clock.now();
    const event: SnapshotEvent = {
      ...why,
      position,
      ...(epoch === undefined ? {} : { epoch }),
      sessions,
    };
    this.emit("snapshot", event);
    this.emitAll(differences);
    this.emitAll(applied);
    if (again) this.actor.send({ type: "resync", reason: this.laterReason ?? "resync" });
    this.laterReason = undefined;
  }

  private dropSession(): void {
    const session = this.session;
    this.session = undefined;
    if (!session) return;
    session.iq.close("the connection closed");
    this.closing = session.connection.close().catch(() => undefined);
  }

  private warn(message: string): void {
    this.lastWarning = message;
    this.emit("warning", message);
  }

  private reportPhase(): void {
    const snapshot = this.actor.getSnapshot();
    const phase = `${phaseOf(snapshot.value)}:${this.session !== undefined}`;
    if (phase === this.phaseSeen) return;
    this.phaseSeen = phase;
    if (snapshot.value === "failed") {
      this.emit("fatal", new Error(snapshot.context.lastError ?? "the client gave up"));
    }
    this.emit("health", this.health());
  }

  private emitAll(changes: readonly PresenceChange[]): void {
    for (const change of changes) this.emit("change", change);
  }

  /** A listener that throws is the application's bug: it surfaces, outside the client's own code. */
  private emit<E extends keyof PresenceClientEvents>(event: E, ...args: PresenceClientEvents[E]) {
    try {
      this.events.emit(event, ...args);
    } catch (err) {
      queueMicrotask(() => {
        throw err;
      });
    }
  }
}

/** The machine's state as one word: `live`, `paging`, `backoff`, ... */
function phaseOf(value: unknown): string {
  if (typeof value === "string") return value;
  const [, inner] = Object.entries(value as Record<string, unknown>)[0] ?? [];
  return phaseOf(inner ?? "unknown");
}
