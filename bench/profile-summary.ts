/** Where a V8 CPU profile (`node --cpu-prof`) spends its time, by package and by function (self time). */

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
}

export interface CpuProfile {
  readonly startTime?: number;
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface TimeShare {
  readonly name: string;
  readonly ms: number;
  readonly share: number;
}

/** `kafkajs`, `avsc`, `ours:src/consumer/index.ts`, `node`, `(garbage collector)`, ... */
export function categoryOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg?.[1]) return pkg[1];
  const own = /\/((?:src|bench|test)\/.+)$/.exec(url);
  if (own?.[1]) return `ours:${own[1]}`;
  if (url.startsWith('node:')) return 'node';
  return url;
}

function summarise(
  profile: CpuProfile,
  keyOf: (frame: CallFrame) => string,
  top: number,
  skipMs: number,
): TimeShare[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const totals = new Map<string, number>();
  let all = 0;
  let elapsedUs = 0;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    elapsedUs += us;
    const frame = byId.get(id);
    // Start-up (module loading, connecting, joining) is not the steady state we want to explain.
    if (!frame || elapsedUs < skipMs * 1000) return;
    all += us;
    const key = keyOf(frame);
    totals.set(key, (totals.get(key) ?? 0) + us);
  });
  return [...totals.entries()]
    .map(([name, us]) => ({ name, ms: us / 1000, share: all > 0 ? us / all : 0 }))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, top);
}

export const byCategory = (profile: CpuProfile, top = 15, skipMs = 0): TimeShare[] =>
  summarise(profile, categoryOf, top, skipMs);

export const byFunction = (profile: CpuProfile, top = 25, skipMs = 0): TimeShare[] =>
  summarise(
    profile,
    (f) => `${f.functionName || '(anonymous)'} ${categoryOf(f)}:${f.lineNumber + 1}`,
    top,
    skipMs,
  );
