using System.Text;
using Profiler.Collectors.JemallocImport;
using Profiler.Core.Recording;

namespace Profiler.Tests.Import;

/// <summary>Hand-written dumps imported into an in-memory recording, read back with the real
/// reader, and the figures the tests check computed straight from its events.</summary>
static class ImportedRecording
{
    public static readonly DateTimeOffset FirstDump = new(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);

    /// <summary>A heap_v2 dump of the given backtraces (addresses as text, e.g. "0x10 0x20"), each
    /// allocated by jemalloc thread 0, with a two-module map.</summary>
    public static string Dump(ulong period, params (string Stack, ulong Objects, ulong Bytes)[] records)
    {
        // The totals add up, as jemalloc's always do.
        var text = new StringBuilder($"heap_v2/{period}\n  t*: {records.Sum(r => (long)r.Objects)}: {records.Sum(r => (long)r.Bytes)} [0: 0]\n");
        foreach (var (stack, objects, bytes) in records)
            text.Append($"@ {stack}\n  t*: {objects}: {bytes} [0: 0]\n  t0: {objects}: {bytes} [0: 0]\n");
        text.Append("\nMAPPED_LIBRARIES:\n");
        text.Append("00400000-00401000 r--p 00000000 fe:00 11 /opt/app\n");
        text.Append("00401000-00500000 r-xp 00001000 fe:00 11 /opt/app\n");
        text.Append("7f0000000000-7f0000100000 r-xp 00026000 fe:00 12 /usr/lib/libc.so.6\n");
        return text.ToString();
    }

    public static HeapDump Parsed(string text, double secondsAfterFirst = 0, string name = "app.4242.0.i0.heap") =>
        new(name, HeapProfileParser.Parse(new StringReader(text), name), FirstDump.AddSeconds(secondsAfterFirst));

    public static RawRecording ToRecording(params HeapDump[] dumps)
    {
        var stream = new MemoryStream();
        JemallocImporter.Write(dumps, stream, new JemallocImportOptions(4242, path => path == "/opt/app" ? "abcd" : ""));
        return RecordingReader.Read(new MemoryStream(stream.ToArray()), "imported.memprof");
    }

    /// <summary>Per backtrace (its addresses joined by spaces): the bytes live and the objects they
    /// stand for (weight / size) after every event up to and including <paramref name="until"/>.</summary>
    public static Dictionary<string, (long Bytes, double Objects, int Events)> Live(RawRecording r, long until = long.MaxValue)
    {
        var ev = r.Events;
        var live = new Dictionary<ulong, (ulong Stack, ulong Size, ulong Weight)>();
        for (int i = 0; i < ev.Count && ev.TimeNanos[i] <= until; i++)
        {
            if (ev.Kind[i] == EventKind.Alloc) live.Add(ev.Address[i], (ev.StackId[i], ev.Size[i], ev.Weight[i]));
            else Assert.True(live.Remove(ev.Address[i]), $"event {i} frees {ev.Address[i]:x}, which is not live");
        }
        return live.Values.GroupBy(o => o.Stack).ToDictionary(
            g => string.Join(' ', r.Stacks[g.Key].Addresses.Select(a => $"0x{a:x}")),
            g => ((long)g.Sum(o => (decimal)o.Weight), g.Sum(o => (double)o.Weight / o.Size), g.Count()));
    }

    /// <summary>jeprof's AdjustSamples for heap_v2, written out from its source independently of
    /// the importer: count and bytes scaled by 1/(1 − exp(−(bytes/count)/period)).</summary>
    public static (double Objects, double Bytes) Jeprof(ulong objects, ulong bytes, ulong period)
    {
        if (objects == 0) return (objects, bytes);
        double ratio = (bytes * 1.0 / objects) / period;
        double scale = 1 / (1 - Math.Exp(-ratio));
        return (objects * scale, bytes * scale);
    }
}
