using Profiler.Core.Model;
using Profiler.Firefox;

namespace Profiler.Export;

/// <summary>A .NET process's GC heap as a second memory track beside the native one (never summed
/// with it): the runtime's own gc-heap-size figure, once a second.</summary>
static class ManagedHeapTrack
{
    public static void Add(ProfileBuilder builder, ProcessHandle process, IReadOnlyList<ManagedHeapSample> samples, uint pid)
    {
        var own = samples.Where(s => s.Pid == pid).ToList();
        if (own.Count == 0) return;
        var counter = builder.AddMemoryCounter(process, "GC heap",
            "Managed (.NET GC) heap bytes: the runtime's gc-heap-size counter (GC.GetTotalMemory, whole megabytes), once a second; " +
            "not part of the native heap");
        long previous = 0;
        foreach (var sample in own)
        {
            // The track draws the running sum; a changed size stands for at least one allocation or collection.
            long delta = sample.Bytes - previous;
            builder.AddCounterSample(counter, sample.TimeNanos / 1e6, delta, delta == 0 ? 0 : 1);
            previous = sample.Bytes;
        }
    }
}
