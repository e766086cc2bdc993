// Asks the Firefox Profiler's own loader (profiler-cli) what a profile holds and prints
// one "name value" line per total, over all threads with allocations:
//   retained_bytes N            bytes allocated and never freed (Retained Memory)
//   allocated_bytes N           bytes allocated, frees ignored (Allocated Memory)
//   deallocation_sites_bytes N  bytes freed, under the frees' own stacks (Deallocation Sites)
//   deallocated_bytes N         bytes freed, under the stacks of their allocations (Deallocated Memory)
// Frees are negative weights to the profiler; the last two are printed as positive numbers.
// Usage: node totals.mjs PROFILER_CLI_JS PROFILE
import { execFileSync } from 'node:child_process';

const [cli, profile] = process.argv.slice(2);
if (!cli || !profile) {
  console.error('usage: node totals.mjs PROFILER_CLI_JS PROFILE');
  process.exit(2);
}

function run(...args) {
  try {
    // The CLI's own messages go to stderr so that stdout carries only the totals.
    return execFileSync(process.execPath, [cli, ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (error) {
    // It has already printed its reason; add which command it was.
    throw new Error(`profiler-cli ${args.join(' ')} exited with ${error.status ?? error.signal}`);
  }
}

const query = (...args) => JSON.parse(run(...args, '--json'));

function totalBytes(thread, strategy) {
  const samples = query('thread', 'samples', '--thread', thread, '--strategy', strategy, '--limit', '1');
  if (samples.weightType !== 'bytes') {
    throw new Error(`${thread} ${strategy}: weights are ${samples.weightType}, not bytes`);
  }
  return samples.categoryBreakdown.totalSamples;
}

// Bytes freed in a deallocation view. Its totalSamples is a magnitude; the categories carry the
// profiler's own signed sums, negative for frees.
function freedBytes(thread, strategy) {
  const samples = query('thread', 'samples', '--thread', thread, '--strategy', strategy, '--limit', '1');
  if (samples.weightType !== 'bytes') {
    throw new Error(`${thread} ${strategy}: weights are ${samples.weightType}, not bytes`);
  }
  return -samples.categoryBreakdown.categories.reduce((sum, category) => sum + category.samples, 0);
}

// On a busy machine the CLI's daemon can take longer to start than the CLI waits for; it keeps
// starting, and loading again then succeeds.
function load() {
  for (let attempt = 1; ; attempt++) {
    try {
      return run('load', profile);
    } catch (error) {
      if (attempt === 5) throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000 * attempt);
    }
  }
}

function main() {
  process.stderr.write(load());
  let retained = 0;
  let allocated = 0;
  let deallocationSites = 0;
  let deallocated = 0;
  let threadsWithAllocations = 0;
  for (const { threadHandle } of query('thread', 'list', '--sort', 'index').threads) {
    const strategies = query('thread', 'info', '--thread', threadHandle).availableStrategies;
    if (!strategies.includes('native-allocations')) continue;
    if (!strategies.includes('native-retained-allocations')) {
      throw new Error(`${threadHandle} has allocations but no retained memory (is memoryAddress missing?)`);
    }
    threadsWithAllocations++;
    for (const strategy of ['native-deallocations-sites', 'native-deallocations-memory']) {
      if (!strategies.includes(strategy)) throw new Error(`${threadHandle} has allocations but no ${strategy}`);
    }
    retained += totalBytes(threadHandle, 'native-retained-allocations');
    allocated += totalBytes(threadHandle, 'native-allocations');
    deallocationSites += freedBytes(threadHandle, 'native-deallocations-sites');
    deallocated += freedBytes(threadHandle, 'native-deallocations-memory');
  }
  if (threadsWithAllocations === 0) throw new Error('no thread has native allocations');
  console.log(`retained_bytes ${retained}`);
  console.log(`allocated_bytes ${allocated}`);
  console.log(`deallocation_sites_bytes ${deallocationSites}`);
  console.log(`deallocated_bytes ${deallocated}`);
}

try {
  main();
} catch (error) {
  console.error(`totals: ${error.message}`);
  process.exit(1);
}
