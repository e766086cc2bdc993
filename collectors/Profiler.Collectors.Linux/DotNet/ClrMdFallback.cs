using Profiler.Collectors.Linux.Procfs;
using Profiler.Core.Recording.Proto;

namespace Profiler.Collectors.Linux.DotNet;

/// <summary>
/// For an attached .NET process that gave no perf map (its diagnostics IPC off or refusing, an
/// older runtime), or whose perf map leaves some sampled code unnamed: the sampled return
/// addresses in its managed code (JIT code in anonymous executable mappings and CoreCLR's
/// double-mapped region, ReadyToRun code in the mapped assemblies) are named by the runtime
/// itself, through ClrMD, at the end of the recording while the process still lives. The names go
/// into the recording as a perf map's would (<see cref="JitSymbols"/>, source "clrmd").
/// </summary>
/// <param name="maps">The process's mappings now (/proc/PID/maps).</param>
public sealed class ClrMdFallback(IManagedCodeNamer namer, Func<int, IReadOnlyList<MapEntry>> maps, Func<int, bool> isAlive)
{
    public const string Source = "clrmd";

    /// <summary>Every sampled return address (stacks carry no process: they are sorted out at the end).</summary>
    readonly HashSet<ulong> _returnAddresses = [];

    /// <summary>A sampled stack: its return addresses are kept (the leaf is the allocator's own code).</summary>
    public void Sampled(Stack stack)
    {
        for (int i = 1; i < stack.Addresses.Count; i++) _returnAddresses.Add(stack.Addresses[i]);
    }

    /// <summary>Names the process's sampled managed code; <paramref name="why"/> is why it gave no perf map.</summary>
    /// <returns>The record to write (null: none), and the line to tell the user.</returns>
    public (JitSymbols? Record, string Note) Name(int pid, string why, long timeNanos)
    {
        string unnamed = $"process {pid} is a .NET program but its managed frames stay unnamed: {why}";
        if (!isAlive(pid)) return (null, $"{unnamed}; it ended before ClrMD could name them");
        var inManagedCode = InManagedCode(maps(pid), _returnAddresses);
        if (inManagedCode.Count == 0) return (null, unnamed);
        var named = namer.Name(pid, inManagedCode);
        if (named.Failure is { } failure) return (null, $"{unnamed}; {failure}");
        string note = $"process {pid} is a .NET program without a perf map ({why}): its managed frames were named through ClrMD " +
                      $"({Covered(named.Symbols, inManagedCode)} of {inManagedCode.Count} sampled code addresses)";
        return (RecordOf(pid, named, timeNanos), note);
    }

    /// <summary>The sampled managed code a process's perf map does not name (on attach: ReadyToRun
    /// code it ran before the map was turned on), named through ClrMD.</summary>
    /// <param name="inPerfMap">Whether the perf map names the code at a call address.</param>
    /// <returns>The record to write (null: none), and a line for the user only when ClrMD could not.</returns>
    public (JitSymbols? Record, string? Note) NameRest(int pid, Func<ulong, bool> inPerfMap, long timeNanos)
    {
        if (!isAlive(pid)) return (null, null);
        var rest = InManagedCode(maps(pid), _returnAddresses).Where(a => !inPerfMap(a - 1)).ToList();
        if (rest.Count == 0) return (null, null);
        var named = namer.Name(pid, rest);
        if (named.Failure is { } failure)
            return (null, $"process {pid}: {rest.Count} sampled managed code addresses its perf map does not name stay unnamed: {failure}");
        return (RecordOf(pid, named, timeNanos), null);
    }

    static JitSymbols? RecordOf(int pid, ManagedCodeNames named, long timeNanos)
    {
        if (named.Symbols.Count == 0) return null;
        var record = new JitSymbols { Pid = (uint)pid, TimeNanos = timeNanos, Source = Source };
        record.Symbols.AddRange(named.Symbols);
        return record;
    }

    static int Covered(IReadOnlyList<JitSymbol> symbols, List<ulong> returnAddresses)
    {
        var sorted = symbols.OrderBy(s => s.Start).ToArray();
        var starts = Array.ConvertAll(sorted, s => s.Start);
        return returnAddresses.Count(address =>
        {
            int i = Array.BinarySearch(starts, address - 1);
            if (i < 0) i = ~i - 1;
            return i >= 0 && address - 1 < sorted[i].Start + sorted[i].Size;
        });
    }

    /// <summary>The return addresses whose call lies in managed code: JIT code (an anonymous executable
    /// mapping, or the executable view of CoreCLR's double-mapped region) or an assembly's
    /// ahead-of-time (ReadyToRun) code, executable in the .dll the runtime mapped.</summary>
    public static List<ulong> InManagedCode(IReadOnlyList<MapEntry> mappings, IEnumerable<ulong> returnAddresses)
    {
        var regions = mappings.Where(m => m.IsExecutable && (m.Path.Length == 0 || m.Path.Contains("memfd:doublemapper", StringComparison.Ordinal) ||
                                                             m.Path.EndsWith(".dll", StringComparison.OrdinalIgnoreCase)))
            .OrderBy(m => m.Start).ToArray();
        var starts = Array.ConvertAll(regions, r => r.Start);
        var result = new List<ulong>();
        foreach (ulong address in returnAddresses)
        {
            if (address == 0) continue;
            int i = Array.BinarySearch(starts, address - 1);
            if (i < 0) i = ~i - 1;
            if (i >= 0 && address - 1 < regions[i].End) result.Add(address);
        }
        result.Sort();
        return result;
    }
}
