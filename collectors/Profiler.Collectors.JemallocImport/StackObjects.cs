namespace Profiler.Collectors.JemallocImport;

/// <summary>One object a stack's counts stand for in the recording: the jemalloc thread that
/// allocated it, its size, and the bytes it stands for after unsampling.</summary>
public readonly record struct ImportedObject(uint Thread, ulong Size, ulong Weight);

/// <summary>
/// Turns a backtrace's counts into recording objects whose weights add up to what jeprof reports.
/// jeprof unsamples each backtrace from its average object size: count and bytes are both scaled
/// by 1/(1 − e^(−avg/R)), avg = bytes/count, R the sample period — the pure Poisson weight of one
/// sampled object of the average size (<see cref="Sampling.PoissonSampling.PoissonProbability"/>;
/// jemalloc samples large objects too, so memprof's exact-large-block rule does not apply). So a
/// backtrace becomes `count` objects of the average size, each standing for its share of the
/// scaled bytes; the remainders of both divisions are spread one byte at a time, so sizes add up
/// to the dumped bytes and weights to jeprof's total rounded to the byte.
/// </summary>
public static class StackObjects
{
    /// <summary>jeprof's factor for a backtrace (AdjustSamples, heap_v2); 1 when it has no objects.</summary>
    public static double ScaleFactor(ulong objects, ulong bytes, ulong period)
    {
        if (objects == 0) return 1;
        double average = (double)bytes / objects;
        return 1 / -double.ExpM1(-average / period);
    }

    /// <summary>jeprof's in-use bytes for a backtrace, rounded to the byte.</summary>
    public static ulong UnsampledBytes(HeapCounts counts, ulong period) =>
        (ulong)Math.Round(counts.Bytes * ScaleFactor(counts.Objects, counts.Bytes, period));

    /// <param name="fallbackThread">The thread of objects whose record names no thread.</param>
    public static List<ImportedObject> Of(HeapStackRecord record, ulong period, uint fallbackThread)
    {
        ulong count = record.Total.Objects, bytes = record.Total.Bytes;
        uint firstThread = record.Threads.Count > 0 ? (uint)record.Threads[0].Thread : fallbackThread;
        var objects = new List<ImportedObject>((int)Math.Min(count, 1 << 20));
        if (count == 0)
        {
            // Bytes without objects: jeprof leaves them unscaled; one object carries them.
            if (bytes > 0) objects.Add(new ImportedObject(firstThread, bytes, bytes));
            return objects;
        }
        var threads = Apportion(count, record.Threads, firstThread);
        ulong weight = UnsampledBytes(record.Total, period);
        ulong size = bytes / count, sizeRemainder = bytes % count;
        ulong share = weight / count, shareRemainder = weight % count;
        ulong index = 0;
        foreach (var (thread, n) in threads)
            for (ulong k = 0; k < n; k++, index++)
                objects.Add(new ImportedObject(thread,
                    size + (index < sizeRemainder ? 1UL : 0), share + (index < shareRemainder ? 1UL : 0)));
        return objects;
    }

    /// <summary>Splits <paramref name="count"/> objects over the record's threads in proportion to
    /// their own counts (largest remainders first). jemalloc unsamples each thread's counts on its
    /// own, so they need not add up to the total exactly.</summary>
    static List<(uint Thread, ulong Count)> Apportion(ulong count, IReadOnlyList<HeapThreadCounts> threads, uint firstThread)
    {
        UInt128 sum = 0;
        foreach (var t in threads) sum += t.Counts.Objects;
        if (sum == 0) return [(firstThread, count)];
        // Exact integer shares: floor(count * n / sum), and the remainders rank who gets one more.
        var shares = threads.Select((t, i) =>
        {
            UInt128 scaled = (UInt128)count * t.Counts.Objects;
            return (Index: i, Floor: (ulong)(scaled / sum), Remainder: scaled % sum);
        }).ToList();
        ulong assigned = 0;
        foreach (var s in shares) assigned += s.Floor;
        var extra = shares.OrderByDescending(s => s.Remainder).ThenBy(s => s.Index)
            .Take((int)(count - assigned)).Select(s => s.Index).ToHashSet();
        return shares.Select(s => ((uint)threads[s.Index].Thread, s.Floor + (extra.Contains(s.Index) ? 1UL : 0))).ToList();
    }
}
