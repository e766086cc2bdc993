using Profiler.Core;
using Profiler.Core.Recording;
using Profiler.Core.Recording.Proto;

namespace Profiler.Collectors.JemallocImport;

/// <param name="Pid">The process the dumps come from (0 when unknown).</param>
/// <param name="BuildIdOf">A mapped file's build id (lowercase hex, "" when unknown), read when
/// the recording is written: the dumps do not carry one.</param>
public sealed record JemallocImportOptions(uint Pid, Func<string, string>? BuildIdOf = null, string MemprofVersion = "");

/// <summary>What an import wrote.</summary>
public sealed record ImportSummary(int Dumps, int Stacks, long Allocations, long Frees, ulong RetainedBytes);

/// <summary>
/// Converts jemalloc heap profiles of one process, in the order they were taken, into a recording:
/// the first dump's live objects are allocated at its time; at each later dump, per backtrace,
/// objects it no longer accounts for are freed and new ones allocated. jemalloc reports counts
/// per backtrace, not objects, so which objects died between two dumps is unknowable: the newest
/// of a backtrace are freed first. Live weights after each dump add up, per backtrace, to jeprof's
/// unsampled in-use bytes of that dump (see <see cref="StackObjects"/>).
/// </summary>
public static class JemallocImporter
{
    public const string Collector = "jemalloc-heap-profile";
    /// <summary>More live objects than this in one dump is not a sampled profile but damage.</summary>
    public const ulong MaxObjectsPerDump = 100_000_000;

    public static ImportSummary Write(IReadOnlyList<HeapDump> dumps, Stream output, JemallocImportOptions options, CancellationToken cancel = default)
    {
        if (dumps.Count == 0) throw new ProfilerException(ExitCode.UsageError, "no heap profiles to import");
        var times = DumpFiles.Times(dumps.Select(d => d.LastWrite).ToList());
        using var writer = new RecordingWriter(output, HeaderFor(dumps, options));
        var state = new ImportState(writer, options);
        for (int i = 0; i < dumps.Count; i++)
        {
            cancel.ThrowIfCancellationRequested();
            state.Apply(dumps[i], times[i]);
        }
        writer.Complete(new Footer { EndTimeNanos = times[^1], Events = (ulong)writer.EventCount });
        return new ImportSummary(dumps.Count, state.StackCount, state.Allocations, state.Frees, state.LiveWeight);
    }

    static Header HeaderFor(IReadOnlyList<HeapDump> dumps, JemallocImportOptions options)
    {
        var periods = dumps.Select(d => d.Profile.SamplePeriod).Distinct().ToList();
        string rate = periods.Count == 1 ? $"sample period {periods[0]} B" : $"sample periods {string.Join("/", periods)} B";
        var header = new Header
        {
            StartUnixNanos = dumps[0].LastWrite.ToUnixTimeMilliseconds() * 1_000_000,
            TargetPid = options.Pid,
            Collector = Collector,
            Mode = $"{dumps.Count} jemalloc heap profile{(dumps.Count == 1 ? "" : "s")} (heap_v2, {rate}); " +
                   "objects are matched between dumps only by backtrace",
            SamplingRateBytes = periods[^1],
            Stacks = "jemalloc backtraces",
            MemprofVersion = options.MemprofVersion,
            Launched = false,
        };
        // The executable is the first file /proc/PID/maps lists.
        var executable = dumps[0].Profile.Mappings.FirstOrDefault(m => m.Path.StartsWith('/'));
        header.Command.Add(executable?.Path ?? dumps[0].Name);
        return header;
    }

    /// <summary>The live objects per backtrace, carried from dump to dump.</summary>
    sealed class ImportState(RecordingWriter writer, JemallocImportOptions options)
    {
        readonly Dictionary<string, ulong> _stackIds = [];
        readonly Dictionary<ulong, List<LiveObject>> _live = [];
        readonly HashSet<(ulong, ulong, string)> _modules = [];
        readonly HashSet<uint> _threads = [];
        readonly Dictionary<string, string> _buildIds = [];
        ulong _nextAddress;

        public int StackCount => _stackIds.Count;
        public long Allocations { get; private set; }
        public long Frees { get; private set; }
        public ulong LiveWeight { get; private set; }

        public void Apply(HeapDump dump, long time)
        {
            WriteModules(dump.Profile, time);
            var targets = Targets(dump);
            foreach (var stack in _live.Keys.Where(s => !targets.ContainsKey(s)).ToList()) targets[stack] = [];
            var added = new List<(ulong Stack, ImportedObject Object)>();
            // Frees first: at one instant the heap should not look larger than either dump.
            foreach (var (stack, target) in targets)
            {
                var live = _live.GetValueOrDefault(stack) ?? [];
                var wanted = target.GroupBy(o => o).ToDictionary(g => g.Key, g => g.Count());
                var kept = new List<LiveObject>(live.Count);
                for (int i = live.Count - 1; i >= 0; i--)
                {
                    var o = live[i];
                    if (wanted.TryGetValue(o.Object, out int n) && n > 0) { wanted[o.Object] = n - 1; kept.Add(o); continue; }
                    writer.WriteEvent(new RawEvent(EventKind.Free, time, options.Pid, o.Object.Thread, o.Address, 0, 0, 0, AllocFunction.FreeFunction));
                    Frees++;
                    LiveWeight -= o.Object.Weight;
                }
                kept.Reverse();
                _live[stack] = kept;
                foreach (var (o, n) in wanted)
                    for (int k = 0; k < n; k++) added.Add((stack, o));
            }
            foreach (var (stack, o) in added)
            {
                NoteThread(o.Thread, dump.Profile);
                ulong address = ++_nextAddress * 16;
                writer.WriteEvent(new RawEvent(EventKind.Alloc, time, options.Pid, o.Thread, address, o.Size, o.Weight, stack, AllocFunction.Unspecified));
                _live[stack].Add(new LiveObject(address, o));
                Allocations++;
                LiveWeight += o.Weight;
            }
            foreach (var empty in _live.Where(p => p.Value.Count == 0).Select(p => p.Key).ToList()) _live.Remove(empty);
        }

        /// <summary>The objects each backtrace of the dump stands for; backtraces written twice
        /// (jemalloc does not, but a merged file might) add up.</summary>
        Dictionary<ulong, List<ImportedObject>> Targets(HeapDump dump)
        {
            var targets = new Dictionary<ulong, List<ImportedObject>>();
            ulong total = 0;
            foreach (var record in dump.Profile.Stacks)
            {
                total += record.Total.Objects;
                if (total > MaxObjectsPerDump || record.Total.Objects > MaxObjectsPerDump)
                    throw new ProfilerException(ExitCode.CorruptRecording,
                        $"{dump.Name}, line {record.Line}: more than {MaxObjectsPerDump:N0} live objects in one profile; counts this large are not a sampled heap profile");
                ulong stack = StackId(record.Addresses);
                var objects = StackObjects.Of(record, dump.Profile.SamplePeriod, options.Pid);
                if (targets.TryGetValue(stack, out var existing)) existing.AddRange(objects);
                else targets[stack] = objects;
            }
            return targets;
        }

        ulong StackId(IReadOnlyList<ulong> addresses)
        {
            if (addresses.Count == 0) return 0;
            string key = string.Join(',', addresses);
            if (_stackIds.TryGetValue(key, out ulong id)) return id;
            id = (ulong)_stackIds.Count + 1;
            _stackIds[key] = id;
            var stack = new Stack { Id = id };
            stack.Addresses.Add(addresses);
            writer.WriteStack(stack);
            return id;
        }

        void WriteModules(HeapProfile profile, long time)
        {
            foreach (var m in profile.Mappings)
            {
                if (!m.IsExecutableFile || !_modules.Add((m.Start, m.End, m.Path))) continue;
                writer.WriteModule(new Module
                {
                    Pid = options.Pid, Path = m.Path, BuildId = BuildId(m.Path),
                    Start = m.Start, End = m.End, FileOffset = m.FileOffset, TimeNanos = time,
                });
            }
        }

        string BuildId(string path)
        {
            if (options.BuildIdOf is null) return "";
            if (!_buildIds.TryGetValue(path, out var id)) _buildIds[path] = id = options.BuildIdOf(path);
            return id;
        }

        /// <summary>jemalloc numbers threads itself (not OS thread ids); the recording keeps its numbers.</summary>
        void NoteThread(uint thread, HeapProfile profile)
        {
            if (!_threads.Add(thread)) return;
            string? name = profile.Threads.FirstOrDefault(t => t.Thread == thread)?.Name;
            writer.WriteThread(new Core.Recording.Proto.Thread { Pid = options.Pid, Tid = thread, Name = name ?? $"jemalloc thread {thread}" });
        }
    }

    readonly record struct LiveObject(ulong Address, ImportedObject Object);
}
