import { Cluster, type ChainableCommander } from 'ioredis';
import type { RedisClient } from './connect';

/** A pipeline's replies, in the order the commands were added. */
export type PipelineReplies = Array<[Error | null, unknown]>;

/**
 * Runs groups of commands and returns every reply in order. On one Redis the groups share one
 * pipeline (one round trip). On a Cluster each group gets its own pipeline, all sent together:
 * a Cluster pipeline must keep to one slot, and a group is one room's commands, whose keys share
 * the room's hash tag.
 *
 * @example
 * const replies = await execGroups(redis, rooms.map((room) => (p) => p.hgetall(presenceKey(room))));
 */
export async function execGroups(redis: RedisClient, groups: ReadonlyArray<(pipeline: ChainableCommander) => void>): Promise<PipelineReplies> {
  if (!(redis instanceof Cluster)) {
    const pipeline = redis.pipeline();
    for (const add of groups) add(pipeline);
    return (await pipeline.exec()) ?? [];
  }
  const replies = await Promise.all(
    groups.map((add) => {
      const pipeline = redis.pipeline();
      add(pipeline);
      return pipeline.exec();
    }),
  );
  return replies.flatMap((r) => r ?? []);
}
