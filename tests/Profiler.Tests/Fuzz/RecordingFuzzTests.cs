using Profiler.Core;
using Profiler.Core.Recording;
using Profiler.Core.Recording.Proto;
using Xunit.Abstractions;

namespace Profiler.Tests.Fuzz;

/// <summary>
/// Thousands of damaged copies of a recording (bits flipped, ranges overwritten or zeroed, cut,
/// bytes inserted or deleted), each read by the real reader: it either refuses the file with one
/// line and a recording error code, or reads figures no larger than the intact file's and no
/// process it did not have; a copy it reads as whole and unwarned (not cut, not damaged) has
/// exactly the intact figures, unless bytes were deleted (a deletion can remove whole records
/// and leave a smaller, well-formed file). Nothing else may escape, and no mutant may make the
/// reader allocate without bound.
/// </summary>
public sealed class RecordingFuzzTests(ITestOutputHelper output)
{
    public const int Mutants = 4000;
    const uint Root = 100, Child = 101, Grandchild = 102;

    /// <summary>Three processes, stacks, modules, threads, sampled allocations and their frees,
    /// exact counters, forks, exits and the end marker: every record kind, about 100 KB.</summary>
    internal static byte[] Intact()
    {
        var rng = new Random(11);
        var stream = new MemoryStream();
        var writer = new RecordingWriter(stream, new Header
        {
            TargetPid = Root, Collector = "linux-ebpf", Mode = "test", SamplingRateBytes = 4096, Launched = true,
            Command = { "/bin/app" }, StartUnixNanos = 1_700_000_000_000_000_000, FollowsChildren = true,
        }, () => 0);
        foreach (var pid in new[] { Root, Child, Grandchild })
        {
            writer.WriteModule(new Module { Pid = pid, Path = "/bin/app", BuildId = "ab", Start = 0x400000, End = 0x500000, FileOffset = 0 });
            writer.WriteThread(new Profiler.Core.Recording.Proto.Thread { Pid = pid, Tid = pid, Name = "app" });
        }
        for (ulong id = 1; id <= 40; id++)
            writer.WriteStack(new Stack { Id = id, Addresses = { 0x401000 + id * 16, 0x402000 + id } });
        writer.WriteProcessFork(new ProcessFork { Pid = Child, ParentPid = Root, TimeNanos = 10, Name = "app" });
        writer.WriteProcessFork(new ProcessFork { Pid = Grandchild, ParentPid = Child, TimeNanos = 20, Name = "app" });
        var live = new List<(uint Pid, ulong Address, ulong Size)>();
        ulong allocated = 0;
        for (int i = 0; i < 6000; i++)
        {
            uint pid = (uint)(Root + (ulong)rng.Next(3));
            if (live.Count > 0 && rng.Next(3) == 0)
            {
                int k = rng.Next(live.Count);
                var block = live[k];
                live.RemoveAt(k);
                writer.WriteEvent(new RawEvent(EventKind.Free, 100 + i, block.Pid, block.Pid, block.Address, block.Size, 0, (ulong)rng.Next(1, 41), AllocFunction.FreeFunction));
            }
            else
            {
                ulong size = (ulong)rng.Next(1, 100_000);
                ulong address = 0x1000_0000 + (ulong)i * 0x10_0000;
                live.Add((pid, address, size));
                allocated += size;
                writer.WriteEvent(new RawEvent(EventKind.Alloc, 100 + i, pid, pid, address, size, Math.Max(size, 4096), (ulong)rng.Next(1, 41), AllocFunction.Malloc));
            }
            if (i % 500 == 0)
                foreach (var p in new[] { Root, Child, Grandchild })
                    writer.WriteHeapCounters(new HeapCounters { Pid = p, TimeNanos = 100 + i, Allocations = (ulong)i, AllocatedBytes = allocated, LiveBytesKnown = true, LiveBytes = (long)allocated / 2 });
        }
        foreach (var pid in new[] { Grandchild, Child, Root })
            writer.WriteProcessExit(new ProcessExit { Pid = pid, TimeNanos = 7000, ExitCode = 0 });
        writer.WriteStats(new Stats { Events = 6000 });
        writer.Complete(new Footer { EndTimeNanos = 7000, Events = 6000 });
        return stream.ToArray();
    }

    internal sealed record Figures(int Events, int Allocations, ulong AllocatedWeight, int Frees, int Stacks, int Modules,
        int Exits, ulong MaxCountedAllocations, ulong MaxCountedBytes, IReadOnlySet<uint> Pids)
    {
        public static Figures Of(RawRecording r)
        {
            int allocations = 0, frees = 0;
            ulong weight = 0;
            var pids = new HashSet<uint>();
            for (int i = 0; i < r.Events.Count; i++)
            {
                pids.Add(r.Events.Pid[i]);
                if (r.Events.Kind[i] == EventKind.Alloc) { allocations++; weight += r.Events.Weight[i]; }
                else if (r.Events.Kind[i] == EventKind.Free) frees++;
            }
            foreach (var e in r.Exits) pids.Add(e.Pid);
            foreach (var f in r.Forks) pids.Add(f.Pid);
            foreach (var c in r.Counters) pids.Add(c.Pid);
            foreach (var m in r.Modules) pids.Add(m.Pid);
            return new Figures(r.Events.Count, allocations, weight, frees, r.Stacks.Count, r.Modules.Count, r.Exits.Count,
                r.Counters.Select(c => c.Allocations).DefaultIfEmpty().Max(), r.Counters.Select(c => c.AllocatedBytes).DefaultIfEmpty().Max(), pids);
        }

        public bool NoLargerThan(Figures intact) =>
            Events <= intact.Events && Allocations <= intact.Allocations && AllocatedWeight <= intact.AllocatedWeight &&
            Frees <= intact.Frees && Stacks <= intact.Stacks && Modules <= intact.Modules && Exits <= intact.Exits &&
            MaxCountedAllocations <= intact.MaxCountedAllocations && MaxCountedBytes <= intact.MaxCountedBytes && Pids.IsSubsetOf(intact.Pids);

        public bool SameAs(Figures intact) => this with { Pids = intact.Pids } == intact && Pids.SetEquals(intact.Pids);
    }

    [Fact]
    public void Every_mutant_is_refused_in_one_line_or_read_with_no_larger_figures()
    {
        var intact = Intact();
        var expected = Figures.Of(RecordingReader.Read(new MemoryStream(intact), "r.memprof"));
        Assert.Equal(6000, expected.Events);
        var mutator = new Mutator(seed: 2024);
        var outcomes = new Dictionary<string, int>();
        long memoryBound = 50L * intact.Length + (16 << 20);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (int n = 0; n < Mutants; n++)
        {
            var (kind, bytes) = mutator.Next(intact);
            long before = GC.GetAllocatedBytesForCurrentThread();
            string outcome;
            try
            {
                var r = RecordingReader.Read(new MemoryStream(bytes), "r.memprof");
                var figures = Figures.Of(r);
                Assert.True(figures.NoLargerThan(expected), $"mutant {n} ({kind}): {figures} larger than {expected}");
                bool whole = r.Integrity.Complete && r.Warnings.Count == 0;
                if (whole && kind != Mutator.Kind.Delete)
                    Assert.True(figures.SameAs(expected), $"mutant {n} ({kind}) reads as whole with other figures: {figures}");
                outcome = whole ? "read whole" : "read with warnings";
            }
            catch (ProfilerException e)
            {
                Assert.DoesNotContain('\n', e.Message);
                Assert.Contains(e.ExitCode, new[] { ExitCode.CorruptRecording, ExitCode.WrongFileType });
                outcome = $"refused ({(int)e.ExitCode})";
            }
            long allocatedBytes = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.True(allocatedBytes < memoryBound, $"mutant {n} ({kind}) allocated {allocatedBytes:N0} bytes");
            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
        }
        output.WriteLine($"{Mutants} mutants of a {intact.Length:N0}-byte recording in {clock.Elapsed.TotalSeconds:0.0} s: " +
                         string.Join(", ", outcomes.OrderBy(o => o.Key).Select(o => $"{o.Value} {o.Key}")));
        Assert.True(outcomes.GetValueOrDefault("read with warnings") > Mutants / 4, "most mutants should read with warnings");
    }
}
