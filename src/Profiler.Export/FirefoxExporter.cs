using Profiler.Core.Analysis;
using Profiler.Core.Model;
using Profiler.Core.Recording.Proto;
using Profiler.Firefox;
using FxStackId = Profiler.Firefox.StackId;

namespace Profiler.Export;

/// <summary>
/// The model as a Firefox Profiler profile: one balanced native-allocations table per process on
/// its main thread (frees at the same address, the real thread in threadId), a Memory track, and
/// a marker at the heap's peak.
/// </summary>
public static class FirefoxExporter
{
    public static void Write(ProfileModel model, string path)
    {
        var builder = Build(model);
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write);
        builder.WriteTo(file, gzip: path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase));
    }

    public static ProfileBuilder Build(ProfileModel model)
    {
        var heap = HeapAnalysis.Compute(model);
        var info = model.Info;
        var builder = new ProfileBuilder($"memprof: {string.Join(' ', info.Command)}", info.StartTime.ToUnixTimeMilliseconds())
        {
            Platform = "Linux", Oscpu = "Linux x86_64", Abi = "x86_64",
        };
        var stacks = MapCallTree(model.Tables, builder);
        var ev = model.Events;

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

            var counter = builder.AddMemoryCounter(proc, "malloc", "Live heap bytes (allocations minus frees)");
            var track = new CounterBuckets(BucketNanos(info.DurationNanos));
            long live = 0, peak = 0, peakTime = 0;
            for (int i = 0; i < ev.Count; i++)
            {
                if (ev.Pid[i] != process.Pid) continue;
                double t = ev.TimeNanos[i] / 1e6;
                FxStackId? stack = ev.Stack[i].IsNone ? null : stacks[ev.Stack[i].Index];
                long bytes;
                if (ev.Kind[i] == EventKind.Alloc) bytes = (long)ev.Weight[i];
                else if (heap.Releases[i] is int a and >= 0) bytes = -(long)ev.Weight[a];
                else continue; // a free of something allocated before recording began
                builder.AddAllocation(main.Value, t, bytes, stack, ev.Address[i], ev.Tid[i]);
                live += bytes;
                if (live > peak) { peak = live; peakTime = ev.TimeNanos[i]; }
                track.Add(ev.TimeNanos[i], bytes, counter, builder);
            }
            track.Flush(counter, builder);
            if (peak > 0)
                builder.AddMarker(main.Value, "Heap peak", peakTime / 1e6, bytes: peak, detail: $"{peak:N0} bytes live");
        }
        return builder;
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
                BreakpadId(info.BuildId), info.BuildId.Length > 0 ? info.BuildId : null, "x86_64"));
        }

        var funcs = new FuncId[tables.Functions.Count];
        for (int i = 0; i < funcs.Length; i++)
        {
            var f = tables.Functions[i];
            funcs[i] = builder.InternFunc(f.Name, LibOf(f.Module), f.File, f.Line);
        }
        var frames = new Profiler.Firefox.FrameId[tables.Frames.Count];
        for (int i = 0; i < frames.Length; i++)
        {
            var f = tables.Frames[i];
            frames[i] = builder.InternFrame(funcs[f.Function.Index], f.Module is null ? null : f.Address, f.Line, f.InlineDepth);
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

    /// <summary>Breakpad's id for an ELF: the first 16 build-id bytes as a little-endian GUID, plus age 0.</summary>
    public static string BreakpadId(string buildId)
    {
        if (buildId.Length < 32) return "";
        var b = Convert.FromHexString(buildId[..32]);
        Array.Reverse(b, 0, 4);
        Array.Reverse(b, 4, 2);
        Array.Reverse(b, 6, 2);
        return Convert.ToHexString(b) + "0";
    }

    /// <summary>About 10,000 points over the recording keeps the track smooth and the file small.</summary>
    static long BucketNanos(long durationNanos) => Math.Max(100_000, durationNanos / 10_000);

    sealed class CounterBuckets(long bucketNanos)
    {
        long _bucket = long.MinValue, _delta, _ops;

        public void Add(long timeNanos, long bytes, CounterId counter, ProfileBuilder builder)
        {
            long bucket = timeNanos / bucketNanos;
            if (bucket != _bucket) Flush(counter, builder);
            _bucket = bucket;
            _delta += bytes;
            _ops++;
        }

        public void Flush(CounterId counter, ProfileBuilder builder)
        {
            if (_ops == 0) return;
            builder.AddCounterSample(counter, _bucket * bucketNanos / 1e6, _delta, _ops);
            _delta = 0;
            _ops = 0;
        }
    }
}
