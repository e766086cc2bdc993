using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Parsers;
using Microsoft.Diagnostics.Tracing.Parsers.Kernel;
using Profiler.Collectors.HeapTrace;
using Profiler.Symbols.Pe;

namespace Profiler.Collectors.Windows;

/// <summary>
/// The thin glue: copies each TraceEvent event into a plain record. TraceEvent reuses its event
/// objects, so nothing of them is kept. Everything after this (ordering, pairing, sampling, the
/// recording) happens in <see cref="HeapTraceConsumer"/>, which is tested without Windows.
/// Callbacks run on each source's processing thread; <paramref name="sink"/> must be thread-safe.
/// </summary>
public sealed class TraceEventAdapter(QpcClock clock, Func<int, bool> isTraced, Action<TraceRecord> sink)
{
    readonly Dictionary<string, string> _buildIds = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The heap session: HeapAlloc/ReAlloc/Free/Destroy of the target, and the stack walks
    /// the session logs after allocations.</summary>
    public void SubscribeHeap(TraceEventSource source)
    {
        var heap = new HeapTraceProviderTraceEventParser(source);
        heap.HeapTraceAlloc += e =>
        {
            if (isTraced(e.ProcessID))
                sink(new HeapAlloc(Time(e), Pid(e), Tid(e), e.HeapHandle, e.AllocAddress, (ulong)e.AllocSize));
        };
        heap.HeapTraceReAlloc += e =>
        {
            if (isTraced(e.ProcessID))
                sink(new HeapReAlloc(Time(e), Pid(e), Tid(e), e.HeapHandle, e.NewAllocAddress, (ulong)e.NewAllocSize,
                    e.OldAllocAddress, (ulong)e.OldAllocSize));
        };
        heap.HeapTraceFree += e =>
        {
            if (isTraced(e.ProcessID)) sink(new HeapFree(Time(e), Pid(e), Tid(e), e.HeapHandle, e.FreeAddress));
        };
        heap.HeapTraceDestroy += e =>
        {
            if (isTraced(e.ProcessID)) sink(new HeapDestroy(Time(e), Pid(e), Tid(e), e.HeapHandle));
        };
        source.Kernel.StackWalkStack += OnStackWalk;
    }

    /// <summary>The kernel session: the target's image loads (with the rundown of images already
    /// loaded when the session starts), process start/stop, VirtualAlloc/Free.</summary>
    public void SubscribeKernel(TraceEventSource source)
    {
        var kernel = source.Kernel;
        kernel.ImageLoad += OnImageLoad;
        kernel.ImageDCStart += OnImageLoad;
        kernel.ImageUnload += e =>
        {
            if (isTraced(e.ProcessID))
                sink(new ImageUnload(Time(e), Pid(e), e.ImageBase, (ulong)(uint)e.ImageSize, e.FileName));
        };
        kernel.ProcessStart += OnProcessStart;
        kernel.ProcessDCStart += OnProcessStart;
        kernel.ProcessStop += e =>
        {
            if (isTraced(e.ProcessID)) sink(new ProcessStop(Time(e), Pid(e), e.ExitStatus));
        };
        kernel.VirtualMemAlloc += e =>
        {
            if (isTraced(e.ProcessID))
                sink(new VirtualAlloc(Time(e), Pid(e), Tid(e), e.BaseAddr, (ulong)e.Length, (VirtualFlags)(uint)e.Flags));
        };
        kernel.VirtualMemFree += e =>
        {
            if (isTraced(e.ProcessID))
                sink(new VirtualFree(Time(e), Pid(e), Tid(e), e.BaseAddr, (ulong)e.Length, (VirtualFlags)(uint)e.Flags));
        };
    }

    void OnStackWalk(StackWalkStackTraceData e)
    {
        var frames = new ulong[e.FrameCount];
        for (int i = 0; i < frames.Length; i++) frames[i] = e.InstructionPointer(i);
        sink(new StackWalk(Time(e), Pid(e), Tid(e), clock.ToNanos(e.EventTimeStampQPC), frames));
    }

    void OnImageLoad(ImageLoadTraceData e)
    {
        if (!isTraced(e.ProcessID)) return;
        sink(new ImageLoad(Time(e), Pid(e), e.ImageBase, (ulong)(uint)e.ImageSize, e.FileName, BuildIdOf(e.FileName)));
    }

    void OnProcessStart(ProcessTraceData e)
    {
        if (isTraced(e.ProcessID))
            sink(new ProcessStart(Time(e), Pid(e), (uint)e.ParentID, e.ImageFileName, e.CommandLine));
    }

    /// <summary>Real-time kernel events carry no PDB identity (only merged .etl files get it),
    /// so it is read from the image file, once per path.</summary>
    string BuildIdOf(string path)
    {
        if (_buildIds.TryGetValue(path, out var id)) return id;
        return _buildIds[path] = PeBuildId.Read(path)?.BuildId ?? "";
    }

    // TraceEvent discourages raw QPC stamps in favour of TimeStampRelativeMSec, but that is relative
    // to each session's own start: only the raw stamps put two sessions on one clock, and only they
    // equal a stack walk's EventTimeStampQPC exactly.
#pragma warning disable CS0618
    long Time(TraceEvent e) => clock.ToNanos(e.TimeStampQPC);
#pragma warning restore CS0618

    static uint Pid(TraceEvent e) => (uint)e.ProcessID;

    static uint Tid(TraceEvent e) => (uint)e.ThreadID;
}
