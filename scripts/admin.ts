import 'dotenv/config';
import { createInterface } from 'node:readline/promises';
import { Command, InvalidArgumentError } from 'commander';
import { Cluster } from 'ioredis';
import { loadConfig, type Config } from '../server/config';
import { historyKey } from '../server/engine/redis/keys';
import { Moderation } from '../server/chat/moderation';
import { RedisBanList } from '../server/engine/redis/ban-list';
import { RedisHistoryStore } from '../server/engine/redis/history-store';
import { ClusterRoomBus } from '../server/engine/redis/cluster-room-bus';
import { RedisRoomBus } from '../server/engine/redis/room-bus';
import { MAX_BAN_SECONDS } from '../server/protocol/commands';
import { validateRoom } from '../server/protocol/validate';
import {
  connectClusterCommandClient,
  connectClusterSubscriber,
  connectCommandClient,
  connectSubscriber,
  formatSeeds,
  type RedisClient,
} from '../server/engine/redis/connect';
import * as commands from './admin/commands';
import { mintToken, type TokenOptions } from './admin/token';

/**
 * `npm run history -- COMMAND`: inspect, follow, export, clear and audit room history.
 * Exit 0 on success; 1 with a one-line reason on any failure (Redis unreachable included).
 */

const out = (text: string) => process.stdout.write(text + '\n');

function fail(message: string): never {
  process.stderr.write(`history: ${message}\n`);
  process.exit(1);
}

function integer(value: string): number {
  if (!/^\d{1,15}$/.test(value)) throw new InvalidArgumentError('must be a non-negative integer.');
  return Number(value);
}

function room(value: string): string {
  try {
    return validateRoom(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** Connects, runs `fn`, and always disconnects; every failure becomes one line and exit 1. */
async function withRedis(fn: (ctx: commands.AdminContext) => Promise<void>): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    fail((err as Error).message);
  }
  if (config.engine === 'memory') {
    fail(
      'ENGINE=memory: the history lives in the chat server’s own memory, not in Redis, so this script cannot reach it. ' +
        'Use the server’s HTTP API instead: GET /api/rooms/ROOM/messages (show, export), GET /api/rooms/ROOM/presence, ' +
        'DELETE /api/rooms/ROOM/messages/ID and POST /api/rooms/ROOM/kick (with an API key).',
    );
  }
  let redis: RedisClient;
  let lastError: Error | undefined;
  const options = { failFast: true, commandTimeoutMs: 1500, onError: (err: Error) => (lastError = err) };
  try {
    redis = onCluster(config)
      ? await connectClusterCommandClient(config.redisClusterNodes, options)
      : await connectCommandClient(config.redisUrl, options);
  } catch (err) {
    // A Cluster's rejection carries what the last node said; one Redis's last 'error' event says more than its rejection.
    const why = (onCluster(config) ? (err as Error) : (lastError ?? (err as Error))).message;
    fail(
      onCluster(config)
        ? `cannot reach the Redis Cluster at ${seedsOf(config)} (${why}); is it running, and is REDIS_CLUSTER_NODES right?`
        : `cannot reach Redis at ${config.redisUrl} (${why}); is it running, and is REDIS_URL right?`,
    );
  }
  try {
    // With HISTORY_TTL, so that a delete from here gives the room the same expiry as the server's.
    const store = new RedisHistoryStore(redis, config.historyLimit, undefined, config.historyTtlSec);
    await fn({ redis, store, historyLimit: config.historyLimit, out });
  } catch (err) {
    redis.disconnect();
    fail((err as Error).message);
  }
  redis.disconnect();
}

/** REDIS_CLUSTER_NODES is set: the script works on that Redis Cluster, and REDIS_URL is not used. */
const onCluster = (config: Config): boolean => config.redisClusterNodes.length > 0;
const seedsOf = (config: Config): string => formatSeeds(config.redisClusterNodes);

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const answer = await rl.question(question);
  rl.close();
  return answer.trim().toLowerCase() === 'yes';
}

const program = new Command()
  .name('npm run history --')
  .description('Inspect, follow, export, clear and audit chat room history in Redis, delete messages, kick and ban (reads REDIS_URL or REDIS_CLUSTER_NODES, HISTORY_LIMIT and HISTORY_TTL), and mint development tokens (AUTH_SECRET).')
  .showHelpAfterError()
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 1));

program
  .command('rooms')
  .description(`list the most recently active rooms (${commands.ROOMS_SHOWN} unless --limit) with their retained count, last id and last activity; reads only those`)
  .option('--limit <n>', `the N most recently active rooms (1 to ${commands.MAX_ROOMS_SHOWN})`, integer)
  .option('--json', 'one JSON array of {"room","count","lastId","lastActivity"}')
  .action((opts: { json?: boolean; limit?: number }) => withRedis((ctx) => commands.rooms(ctx, opts)));

program
  .command('show')
  .description("print a room's history, oldest first")
  .argument('<room>', 'room name', room)
  .option('--limit <n>', 'only the newest N messages', integer)
  .option('--since <id>', 'only messages after this id', integer)
  .option('--json', 'one JSON array')
  .action((name: string, opts: { limit?: number; since?: number; json?: boolean }) =>
    withRedis((ctx) => commands.show(ctx, name, opts)),
  );

program
  .command('tail')
  .description('print messages live as they are stored, until Ctrl-C')
  .argument('<room>', 'room name', room)
  .option('--json', 'one JSON message per line')
  .action((name: string, opts: { json?: boolean }) =>
    withRedis(async (ctx) => {
      const config = loadConfig();
      const subscriber = onCluster(config)
        ? await connectClusterSubscriber(config.redisClusterNodes, { failFast: true })
        : await connectSubscriber(config.redisUrl, { failFast: true });
      const stop = new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
        subscriber.once('end', () => resolve());
      });
      await commands.tail(ctx, subscriber, name, opts, stop, (line) => process.stderr.write(line + '\n'));
      subscriber.disconnect();
    }),
  );

program
  .command('export')
  .description("write a room's history as JSON Lines, oldest first")
  .argument('<room>', 'room name', room)
  .action((name: string) => withRedis((ctx) => commands.exportRoom(ctx, name)));

program
  .command('clear')
  .description("delete a room's history, counter and epoch (clients see the reset)")
  .argument('<room>', 'room name', room)
  .option('--yes', 'do not ask')
  .action((name: string, opts: { yes?: boolean }) =>
    withRedis(async (ctx) => {
      if (!opts.yes) {
        const count = await ctx.redis.llen(historyKey(name));
        if (!process.stdin.isTTY) throw new Error('refusing to clear without a terminal to ask; pass --yes to confirm.');
        if (!(await confirm(`Delete the history of ${name} (${count} messages)? Type yes to confirm: `))) {
          throw new Error('not confirmed; nothing was deleted.');
        }
      }
      const deleted = await commands.clear(ctx, name);
      ctx.out(`Cleared ${name}: ${deleted} messages deleted.`);
    }),
  );

program
  .command('stats')
  .description('rooms, messages retained, memory used by the history keys; walks every key in Redis (SCAN), so it takes longer the bigger the database')
  .option('--json', 'one JSON object')
  .action((opts: { json?: boolean }) => withRedis((ctx) => commands.stats(ctx, opts)));

program
  .command('audit')
  .description("check each room's list: ids contiguous and descending, length, counter, epoch; exit 1 on any finding. Without ROOM it walks every key in Redis (SCAN), so it takes longer the bigger the database")
  .argument('[room]', 'only this room', room)
  .action((name: string | undefined) =>
    withRedis(async (ctx) => {
      const findings = await commands.audit(ctx, name);
      for (const f of findings) ctx.out(`${f.room}: ${f.problem}`);
      if (findings.length > 0) throw new Error(`${findings.length} finding${findings.length === 1 ? '' : 's'}.`);
      ctx.out(name ? `${name}: no findings.` : 'All rooms: no findings.');
    }),
  );

/** The moderation the server uses, on the admin script's one connection (it only publishes). */
const moderationOf = (ctx: commands.AdminContext) =>
  new Moderation({
    history: ctx.store,
    bans: new RedisBanList(ctx.redis),
    bus: ctx.redis instanceof Cluster ? new ClusterRoomBus(ctx.redis, ctx.redis) : new RedisRoomBus(ctx.redis, ctx.redis),
  });

program
  .command('delete')
  .description('delete a message: a tombstone without its text, and a delete event every client catches up on')
  .argument('<room>', 'room name', room)
  .argument('<id>', 'the message id', integer)
  .option('--json', 'print the delete event as JSON')
  .action((name: string, id: number, opts: { json?: boolean }) =>
    withRedis(async (ctx) => {
      const { event, duplicate } = await moderationOf(ctx).delete(name, id, 'system');
      if (opts.json) return ctx.out(event.json);
      ctx.out(duplicate ? `Message ${id} of ${name} was already deleted (event ${event.id}).` : `Deleted message ${id} of ${name} (event ${event.id}).`);
    }),
  );

program
  .command('kick')
  .description("end a user's connections to a room on every server process; --ban keeps them out")
  .argument('<room>', 'room name', room)
  .argument('<uid>', "the user's uid (a token's sub)")
  .option('--ban <seconds>', `also ban them for this long (1 to ${MAX_BAN_SECONDS})`, integer)
  .option('--name', 'UID is an anonymous name, not a uid')
  .action((name: string, uid: string, opts: { ban?: number; name?: boolean }) =>
    withRedis(async (ctx) => {
      if (opts.ban !== undefined && (opts.ban < 1 || opts.ban > MAX_BAN_SECONDS)) {
        throw new Error(`--ban must be from 1 to ${MAX_BAN_SECONDS} seconds.`);
      }
      const who = opts.name ? { user: uid } : { uid };
      const { bannedUntil } = await moderationOf(ctx).kick(name, opts.ban === undefined ? { who } : { who, seconds: opts.ban }, 'system');
      ctx.out(`Kicked ${uid} from ${name}${bannedUntil ? `, banned until ${new Date(bannedUntil).toISOString()}` : ''}.`);
    }),
  );

const patterns = (value: string): string[] => value.split(',').map((p) => p.trim()).filter(Boolean);

program
  .command('token')
  .description('print a development token signed with AUTH_SECRET (no Redis needed)')
  .argument('<sub>', "the user's stable id (messages carry it as uid)")
  .option('--name <name>', 'display name (default: SUB)')
  .option('--rooms <patterns>', 'rooms to read and write, comma-separated (default: every room)', patterns)
  .option('--read <patterns>', 'rooms to read only, comma-separated', patterns)
  .option('--mod <patterns>', 'rooms to moderate, comma-separated', patterns)
  .option('--ttl <seconds>', 'seconds until it expires (default 3600)', integer)
  .action((sub: string, opts: TokenOptions) => {
    try {
      out(mintToken(loadConfig().auth, sub, opts));
    } catch (err) {
      fail((err as Error).message);
    }
  });

program.parseAsync(process.argv).catch((err: unknown) => fail((err as Error).message));
