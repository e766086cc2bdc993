using Profiler.Core.Analysis;
using Profiler.Core.Model;
using Profiler.Firefox;

namespace Profiler.Export;

/// <summary>
/// The model as a Firefox Profiler profile: one balanced native-allocations table per process on
/// its main thread (frees at the same address, the real thread in threadId), a Memory track per
/// process — the exact counters' live bytes when the recording has them, else the events' — and
/// a marker at the heap's peak. Functions carry their file and line, frames their line and
/// inline depth (inlined functions are stack nodes of their own below the real frame); only what
/// the exported stacks use is listed.
/// </summary>
public static class FirefoxExporter
{
    public const string PeakMarker = "Heap peak";

    /// <summary>The marker a sampled profile (<see cref="FirefoxSelection"/>) carries at its start, saying so.</summary>
    public const string SampledMarker = "Sampled export";

    /// <summary>The one frame of the stack an event without a recorded stack gets: a row without
    /// a stack would drop out of some of the profiler's views and not others (a free without a
    /// stack counts in Deallocated Memory but not in Deallocation Sites).</summary>
    public const string NoStackFrame = "[stack not recorded]";

    /// <summary>What every exported profile must satisfy beyond the format: none of memprof's own
    /// code (the preload library's functions, the library itself) shows, and Deallocation Sites
    /// sum to Deallocated Memory.</summary>
    public static ValidationRules OutputRules { get; } = new()
    {
        ForbiddenNames = ["memprof_*", "libmemprof*"],
        DeallocationViewsAgree = true,
    };

    public static void Write(ProfileModel model, string path)
    {
        var builder = Build(model);
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write);
        builder.WriteTo(file, gzip: path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase));
    }

    /// <param name="sampling">How the model's events were chosen, when they are a sample of the recording's:
    /// the profile's name and a marker on each process say so.</param>
    public static ProfileBuilder Build(ProfileModel model, FirefoxSampling? sampling = null)
    {
        var heap = HeapAnalysis.Compute(model);
        var timelines = HeapTimelines.Compute(model);
        var info = model.Info;
        string product = $"memprof: {string.Join(' ', info.Command)}" + (sampling is null ? "" : $" ({sampling.Description})");
        var builder = new ProfileBuilder(product, info.StartTime.ToUnixTimeMilliseconds())
        {
            Platform = IsWindows(info) ? "Windows" : "Linux", Oscpu = IsWindows(info) ? "Windows x86_64" : "Linux x86_64", Abi = "x86_64",
        };
        var callTree = new FirefoxCallTree(model.Tables, builder);
        var ev = model.Events;
        bool everyAllocation = Core.Sampling.PoissonSampling.RecordsEverything(info.SamplingRateBytes);

        foreach (var process in model.Processes)
        {
            var proc = builder.AddProcess(process.Pid, process.Name, process.StartNanos / 1e6);
            ThreadHandle? main = null;
            foreach (var thread in process.Threads)
            {
                var handle = builder.AddThread(proc, thread.Tid, thread.Tid == process.Pid ? process.Name : thread.Name, thread.Tid == process.Pid);
                if (thread.Tid == process.Pid) main = handle;
            }
            main ??= builder.AddThread(proc, process.Pid, process.Name, isMain: true);

            AddAllocations(builder, main.Value, process.Pid, ev, heap, callTree);
            if (sampling is not null) builder.AddMarker(main.Value, SampledMarker, process.StartNanos / 1e6, detail: sampling.Description);
            if (timelines.Of(process.Pid) is { } timeline)
                AddMemoryTrack(builder, proc, main.Value, timeline, info.DurationNanos, process.StartNanos, everyAllocation);
            ManagedHeapTrack.Add(builder, proc, model.ManagedHeap, process.Pid);
        }
        return builder;
    }

    /// <summary>
    /// A process's allocations, and the frees of those: in the model's (time) order, which the
    /// profile keeps, so the profiler pairs each free with the allocation the model paired it
    /// with. Every row has a stack (<see cref="NoStackFrame"/> when none was
    /// recorded) and a weight other than 0, which the profiler would take for an allocation:
    /// then Deallocation Sites and Deallocated Memory count the same frees, and sum alike.
    /// </summary>
    static void AddAllocations(ProfileBuilder builder, ThreadHandle main, uint pid, AllocationTable ev, HeapAnalysis heap,
        FirefoxCallTree callTree)
    {
        for (int i = 0; i < ev.Count; i++)
        {
            if (ev.Pid[i] != pid) continue;
            long bytes;
            if (ev.Kind[i] == EventKind.Alloc) bytes = (long)ev.Weight[i];
            // A free of a block allocated before recording began (or not sampled) says nothing of the recorded heap.
            else if (ev.Kind[i] == EventKind.Free && heap.Releases[i] is int a and >= 0) bytes = -(long)ev.Weight[a];
            else continue;
            if (bytes == 0) continue; // a block that weighs nothing, or its free: both would read as allocations
            builder.AddAllocation(main, ev.TimeNanos[i] / 1e6, bytes, callTree.Of(ev.Stack[i]), ev.Address[i], ev.Tid[i]);
        }
    }

    static void AddMemoryTrack(ProfileBuilder builder, ProcessHandle process, ThreadHandle main, HeapTimeline timeline,
        long durationNanos, long startNanos, bool everyAllocation)
    {
        bool exact = timeline.Source == HeapSource.Counters;
        var counter = builder.AddMemoryCounter(process, "malloc", exact
            ? "Live heap bytes (allocator usable size), exact: counted at every allocator call, read every 100 ms " +
              "(the calls up to a peak between two reads are estimated from their times)"
            : $"Live heap bytes (allocations minus frees){(everyAllocation ? "" : ", estimated from samples")}");
        foreach (var sample in MemoryTrack.From(timeline, MemoryTrack.BucketNanos(durationNanos), startNanos))
            builder.AddCounterSample(counter, sample.TimeNanos / 1e6, sample.DeltaBytes, sample.Operations);
        if (timeline.PeakBytes > 0)
            builder.AddMarker(main, PeakMarker, timeline.PeakTimeNanos / 1e6, bytes: timeline.PeakBytes,
                detail: $"{timeline.PeakBytes:N0} bytes live ({(exact ? "exact, allocator counters" : everyAllocation ? "every allocation recorded" : "estimated from samples")})");
    }

    static bool IsWindows(RecordingInfo info) => info.Collector == "windows-etw";

    /// <summary>Breakpad's id: an ELF build id's first 16 bytes as a GUID in little-endian
    /// fields, plus age 0; a PE id (PDB GUID in text order then age, as the Windows collector
    /// records it) is already in that form.</summary>
    public static string BreakpadId(string buildId, bool isPe = false)
    {
        if (isPe) return buildId.ToUpperInvariant();
        if (buildId.Length < 32) return "";
        var b = Convert.FromHexString(buildId[..32]);
        Array.Reverse(b, 0, 4);
        Array.Reverse(b, 4, 2);
        Array.Reverse(b, 6, 2);
        return Convert.ToHexString(b) + "0";
    }
}
