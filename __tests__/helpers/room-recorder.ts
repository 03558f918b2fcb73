import type { HistorySlice } from '../../server/protocol/types';
import type { Broadcast } from '../../server/rooms/broadcast';
import type { RoomMember } from '../../server/rooms/room-sequence';

/** A room member that writes down what it is given: histories, message ids and their epochs. */
export class RoomRecorder implements RoomMember {
  readonly histories: HistorySlice[] = [];
  readonly ids: number[] = [];
  readonly epochs: string[] = [];
  constructor(readonly name?: string) {}
  deliverHistory(slice: HistorySlice): void {
    this.histories.push(slice);
    this.ids.push(...slice.messages.map((m) => m.id));
  }
  deliverMessage(b: Broadcast): void {
    this.ids.push(b.id);
    this.epochs.push(b.epoch);
  }
  deliverPresence(): void {}
  kicks = 0;
  kick(): void {
    this.kicks++;
  }
}
