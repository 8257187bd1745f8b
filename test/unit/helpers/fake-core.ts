/** A core that records what the browser host hands it (for tests of the host alone). */
import type { Core, CoreConnection } from '../../../electron/core/types';
import type { Reply, SessionEndReason } from '../../../electron/ipc/contract';

export class FakeCore implements Core {
  attached: CoreConnection[] = [];
  detached: { id: string; reason: SessionEndReason }[] = [];
  calls: { id: string; channel: string; payload: unknown }[] = [];
  attach(c: CoreConnection): void {
    this.attached.push(c);
  }
  async detach(id: string, reason: SessionEndReason): Promise<void> {
    this.detached.push({ id, reason });
  }
  async handle(id: string, channel: string, payload: unknown): Promise<Reply> {
    this.calls.push({ id, channel, payload });
    return { ok: true, result: { echoed: channel } as never };
  }
  async stopAll(): Promise<void> {}
  runningSummary(): string | null {
    return null;
  }
  onRunningChange(): () => void {
    return () => {};
  }
  async shutdown(): Promise<void> {}
}
