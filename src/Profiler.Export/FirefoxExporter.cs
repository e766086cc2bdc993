using Profiler.Core.Analysis;
using Profiler.Core.Model;
using Profiler.Core.Recording.Proto;
using Profiler.Firefox;
using FxStackId = Profiler.Firefox.StackId;

namespace Profiler.Export;

/// <summary>
/// The model as a Firefox Profiler profile: one balanced native-allocations table per process on
/// its main thread (frees at the same address, the real thread in threadId), a Memory track per
/// process — the exact counters' live bytes when the recording has them, else the events' — and
/// a marker at the heap's peak. Functions carry their file and line, frames their line and
/// inline depth (inlined functions are stack nodes of their own below the real frame).
/// </summary>
public static class FirefoxExporter
{
    public const string PeakMarker = "Heap peak";

    public static void Write(ProfileModel model, string path)
    {
        var builder = Build(model);
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write);
        builder.WriteTo(file, gzip: path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase));
    }

    public static ProfileBuilder Build(ProfileModel model)
    {
        var heap = HeapAnalysis.Compute(model);
        var timelines = HeapTimelines.Compute(model, heap);
        var info = model.Info;
        var builder = new ProfileBuilder($"memprof: {string.Join(' ', info.Command)}", info.StartTime.ToUnixTimeMilliseconds())
        {
            Platform = IsWindows(info) ? "Windows" : "Linux", Oscpu = IsWindows(info) ? "Windows x86_64" : "Linux x86_64", Abi = "x86_64",
        };
        var stacks = MapCallTree(model.Tables, builder);
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

            for (int i = 0; i < ev.Count; i++)
            {
                if (ev.Pid[i] != process.Pid) continue;
                FxStackId? stack = ev.Stack[i].IsNone ? null : stacks[ev.Stack[i].Index];
                long bytes;
                if (ev.Kind[i] == EventKind.Alloc) bytes = (long)ev.Weight[i];
                else if (heap.Releases[i] is int a and >= 0) bytes = -(long)ev.Weight[a];
                else continue; // a free of something allocated before recording began
                builder.AddAllocation(main.Value, ev.TimeNanos[i] / 1e6, bytes, stack, ev.Address[i], ev.Tid[i]);
            }

            if (timelines.Of(process.Pid) is { } timeline) AddMemoryTrack(builder, proc, main.Value, timeline, info.DurationNanos, everyAllocation);
        }
        return builder;
    }

    static void AddMemoryTrack(ProfileBuilder builder, ProcessHandle process, ThreadHandle main, HeapTimeline timeline,
        long durationNanos, bool everyAllocation)
    {
        bool exact = timeline.Source == HeapSource.Counters;
        var counter = builder.AddMemoryCounter(process, "malloc", exact
            ? "Live heap bytes (allocator usable size), exact: counted at every allocator call"
            : $"Live heap bytes (allocations minus frees){(everyAllocation ? "" : ", estimated from samples")}");
        foreach (var sample in MemoryTrack.From(timeline, MemoryTrack.BucketNanos(durationNanos)))
            builder.AddCounterSample(counter, sample.TimeNanos / 1e6, sample.DeltaBytes, sample.Operations);
        if (timeline.PeakBytes > 0)
            builder.AddMarker(main, PeakMarker, timeline.PeakTimeNanos / 1e6, bytes: timeline.PeakBytes,
                detail: $"{timeline.PeakBytes:N0} bytes live ({(exact ? "exact, allocator counters" : everyAllocation ? "every allocation recorded" : "estimated from samples")})");
    }

    static FxStackId[] MapCallTree(CallTreeTables tables, ProfileBuilder builder)
    {
        var libs = new Dictionary<int, LibId>();
        LibId? LibOf(ModuleId? module)
        {
            if (module is not { } m) return null;
            if (libs.TryGetValue(m.Index, out var lib)) return lib;
            var info = tables.Module(m);
            return libs[m.Index] = builder.AddLib(new LibInfo(info.Name, info.Path, info.Name, info.Path,
                BreakpadId(info.BuildId, info.IsWindowsPath), info.BuildId.Length > 0 ? info.BuildId : null, "x86_64"));
        }

        var funcs = new FuncId[tables.Functions.Count];
        for (int i = 0; i < funcs.Length; i++)
        {
            var f = tables.Functions[i];
            funcs[i] = builder.InternFunc(f.Name, LibOf(f.Module), f.File, f.Line);
        }
        var symbols = NativeSymbols(tables, builder, LibOf);
        var frames = new Profiler.Firefox.FrameId[tables.Frames.Count];
        for (int i = 0; i < frames.Length; i++)
        {
            var f = tables.Frames[i];
            frames[i] = builder.InternFrame(funcs[f.Function.Index], f.Module is null ? null : f.Address, f.Line, f.InlineDepth,
                nativeSymbol: symbols[i]);
        }
        // Parents are interned before their children, so one pass in order suffices.
        var stacks = new FxStackId[tables.Stacks.Count];
        for (int i = 0; i < stacks.Length; i++)
        {
            var node = tables.Stacks[i];
            stacks[i] = builder.InternStack(node.Parent.IsNone ? null : stacks[node.Parent.Index], frames[node.Frame.Index]);
        }
        return stacks;
    }

    /// <summary>
    /// Each frame's symbol: the real (outermost) function at its address, which for an inlined
    /// frame is the function it was inlined into. The model keeps no symbol start addresses, so
    /// a symbol's address is the lowest address recorded in it.
    /// </summary>
    static NativeSymbolId?[] NativeSymbols(CallTreeTables tables, ProfileBuilder builder, Func<ModuleId?, LibId?> libOf)
    {
        var outermost = new Dictionary<(int Module, ulong Address), FunctionId>();
        foreach (var f in tables.Frames)
            if (f.Module is { } m && f.InlineDepth == 0) outermost.TryAdd((m.Index, f.Address), f.Function);

        var symbolOf = new (int Module, FunctionId Function)?[tables.Frames.Count];
        var lowest = new Dictionary<(int Module, FunctionId Function), ulong>();
        for (int i = 0; i < symbolOf.Length; i++)
        {
            var f = tables.Frames[i];
            if (f.Module is not { } m || !outermost.TryGetValue((m.Index, f.Address), out var function)) continue;
            var key = (m.Index, function);
            symbolOf[i] = key;
            lowest[key] = lowest.TryGetValue(key, out var address) ? Math.Min(address, f.Address) : f.Address;
        }

        var ids = new Dictionary<(int Module, FunctionId Function), NativeSymbolId>();
        var result = new NativeSymbolId?[symbolOf.Length];
        for (int i = 0; i < result.Length; i++)
        {
            if (symbolOf[i] is not { } key) continue;
            if (!ids.TryGetValue(key, out var id))
                ids[key] = id = builder.InternNativeSymbol(libOf(new ModuleId(key.Module))!.Value, lowest[key], tables.Function(key.Function).Name);
            result[i] = id;
        }
        return result;
    }

    /// <summary>Breakpad's id for an ELF: the first 16 build-id bytes as a little-endian GUID, plus age 0.</summary>
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
