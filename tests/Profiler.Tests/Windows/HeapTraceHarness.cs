using Profiler.Collectors.HeapTrace;
using Profiler.Core.Model;
using Profiler.Core.Recording;
using Profiler.Core.Recording.Proto;
using Profiler.Symbols.Pe;

namespace Profiler.Tests.Windows;

/// <summary>What one run of records through a consumer produced.</summary>
sealed record TraceRun(RawRecording Recording, HeapTraceSummary Summary, HeapTraceConsumer Consumer)
{
    /// <summary>Each written event as one line, its stack spelled out as raw addresses.</summary>
    public List<string> EventLines()
    {
        var ev = Recording.Events;
        return Enumerable.Range(0, ev.Count).Select(i =>
        {
            var stack = ev.StackId[i] == 0 ? "-" : string.Join(",", Recording.Stacks[ev.StackId[i]].Addresses.Select(a => $"{a:x}"));
            return $"{ev.Kind[i]} t={ev.TimeNanos[i]} tid={ev.Tid[i]} @{ev.Address[i]:x} size={ev.Size[i]} w={ev.Weight[i]} {ev.Function[i]} [{stack}]";
        }).ToList();
    }

    public HeapCounters FinalCounters => Recording.Counters.Last(c => c.Pid == HeapTraceHarness.Pid);

    /// <summary>The symbolized model, named by <see cref="FakeSymbols"/>.</summary>
    public ProfileModel Model() => ProfileModelBuilder.Build(Recording, new FakeSymbols());
}

/// <summary>Feeds hand-made heap-trace records through a <see cref="HeapTraceConsumer"/> into an
/// in-memory recording and reads it back with the recording reader.</summary>
static class HeapTraceHarness
{
    public const uint Pid = 4242;
    public const uint MainTid = 4300;
    public const ulong Heap = 0x2a0000;

    public static HeapTraceOptions Options(ulong rate = 1, bool launched = true, double windowMs = 5) =>
        new(Pid) { SamplingRateBytes = rate, Launched = launched, ReorderWindow = TimeSpan.FromMilliseconds(windowMs), Random = new Random(7) };

    public static TraceRun Run(IEnumerable<TraceRecord> records, HeapTraceOptions? options = null, Action<HeapTraceConsumer>? beforeComplete = null)
    {
        options ??= Options();
        var stream = new MemoryStream();
        var header = new Header
        {
            TargetPid = Pid, Collector = "windows-etw", Mode = "etw-heap", SamplingRateBytes = options.SamplingRateBytes,
            Launched = options.Launched, StartUnixNanos = 1_700_000_000_000_000_000,
        };
        header.Command.Add(FakeSymbols.ExePath);
        var writer = new RecordingWriter(stream, header, () => 0);
        var consumer = new HeapTraceConsumer(writer, options);
        foreach (var record in records) consumer.Add(record);
        beforeComplete?.Invoke(consumer);
        consumer.Complete();
        writer.Complete(new Footer { Events = (ulong)writer.EventCount });
        var recording = RecordingReader.Read(new MemoryStream(stream.ToArray()), "windows.memprof");
        return new TraceRun(recording, consumer.Summary, consumer);
    }

    /// <summary>The image of the traced program, mapped where <see cref="FakeSymbols"/> expects it.</summary>
    public static ImageLoad ExeImage(long time = 0) =>
        new(time, Pid, FakeSymbols.ImageBase, FakeSymbols.ImageSize, FakeSymbols.ExePath, PeBuildId.Format(FakeSymbols.PdbGuid, 1));

    /// <summary>A stack walk as ETW logs it for a user-mode event: two kernel frames (the system
    /// call that logged it), then the user stack, leaf first.</summary>
    public static StackWalk WalkOf(TraceRecord e, params ulong[] user) =>
        new(e.TimeNanos + 1, e.Pid, e.Tid, e.TimeNanos, [0xFFFFF805_12340000, 0xFFFFF805_12350000, .. user]);
}

/// <summary>
/// Symbols of a made-up program image: each function owns a 0x100-byte range of RVAs, so a
/// test can name any address. Used for both Windows-style and Linux-style recordings, which
/// then name the same offsets alike.
/// </summary>
sealed class FakeSymbols : IFrameResolver
{
    public const string ExePath = @"C:\app\allocs.exe";
    public const ulong ImageBase = 0x7ff6_1000_0000;
    public const ulong ImageSize = 0x10_0000;
    public static readonly Guid PdbGuid = new("6b1e7f2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b");

    public static readonly string[] Functions =
    [
        "RtlpAllocateHeapInternal", "RtlAllocateHeap", "allocs::main", "allocs::leak_leaf", "allocs::churn",
        "allocs::realloc_grow", "allocs::thread_worker", "allocs::site_tiny", "allocs::site_small", "allocs::site_medium",
        "allocs::site_page", "allocs::site_large", "allocs::site_mixed", "allocs::site_rare", "allocs::destroy_heap",
    ];

    /// <summary>A return address inside <paramref name="function"/> (an absolute address in the image).</summary>
    public static ulong In(string function, ulong offset = 0x10)
    {
        int index = Array.IndexOf(Functions, function);
        if (index < 0) throw new ArgumentException($"no fake function {function}");
        return ImageBase + 0x1000 + (ulong)index * 0x100 + offset;
    }

    /// <summary>A leaf-first stack: the heap's own two frames, then the given callers (innermost first).</summary>
    public static ulong[] Stack(params string[] callersInnermostFirst) =>
        [In("RtlpAllocateHeapInternal"), In("RtlAllocateHeap"), .. callersInnermostFirst.Select(f => In(f))];

    /// <summary>The function an absolute address of the image falls in.</summary>
    public static string NameOf(ulong address) => NameAt(address - ImageBase) ?? $"0x{address:x}";

    static string? NameAt(ulong rva) =>
        rva >= 0x1000 && rva < 0x1000 + (ulong)Functions.Length * 0x100 ? Functions[(rva - 0x1000) / 0x100] : null;

    public IReadOnlyList<ResolvedFrame> Resolve(MappedModule module, ulong lookupOffset, ulong fileOffset) =>
        [new ResolvedFrame(NameAt(lookupOffset) ?? $"0x{fileOffset:x}", module.Path, module.BuildId, fileOffset, null, null)];
}
