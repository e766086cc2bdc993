using System.Globalization;
using System.Text.RegularExpressions;
using Profiler.Core;

namespace Profiler.Collectors.JemallocImport;

/// <summary>A parsed heap profile and what its file says about it.</summary>
/// <param name="Name">The file, as named in messages.</param>
/// <param name="LastWrite">When the dump was written (the file's modification time): dumps carry no
/// time of their own.</param>
public sealed record HeapDump(string Name, HeapProfile Profile, DateTimeOffset LastWrite);

/// <summary>What jemalloc's dump file names and times say: the process, and the dumps' order in time.</summary>
public static partial class DumpFiles
{
    /// <summary>The pid in jemalloc's own names, `PREFIX.PID.SEQ.KIND.heap` (KIND: f final, i/m/u
    /// followed by a number for interval, manual and growth dumps); 0 for any other name.</summary>
    public static uint PidOf(string path)
    {
        var match = JemallocName().Match(Path.GetFileName(path));
        return match.Success && uint.TryParse(match.Groups["pid"].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out uint pid)
            ? pid : 0;
    }

    /// <summary>The one process the dumps come from (0 when no name says), or a usage error when
    /// their names name different processes.</summary>
    public static uint CommonPid(IEnumerable<string> paths)
    {
        uint pid = 0;
        string? first = null;
        foreach (var path in paths)
        {
            uint p = PidOf(path);
            if (p == 0) continue;
            if (pid != 0 && p != pid)
                throw new ProfilerException(ExitCode.UsageError,
                    $"{first} is from pid {pid} but {path} is from pid {p}: import the dumps of one process at a time");
            pid = p;
            first ??= path;
        }
        return pid;
    }

    /// <summary>The dumps in the order they were taken: by the sequence number in jemalloc's names
    /// when every name has one (a shell's `*.heap` puts .10. before .2.), else as given.</summary>
    public static IReadOnlyList<string> InDumpOrder(IReadOnlyList<string> paths)
    {
        var sequences = paths.Select(p => JemallocName().Match(Path.GetFileName(p))).ToList();
        if (sequences.Any(m => !m.Success)) return paths;
        return paths.Select((p, i) => (Path: p, Sequence: ulong.Parse(sequences[i].Groups["seq"].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture)))
            .OrderBy(d => d.Sequence).Select(d => d.Path).ToList();
    }

    /// <summary>Each dump's time in nanoseconds after the first: from the files' modification times,
    /// but never earlier than 1 ms after the previous dump — the order given is the order the dumps
    /// were taken, and dumps written within the same clock tick still follow one another.</summary>
    public static long[] Times(IReadOnlyList<DateTimeOffset> lastWrites)
    {
        var times = new long[lastWrites.Count];
        for (int i = 1; i < times.Length; i++)
        {
            long sinceFirst = (lastWrites[i] - lastWrites[0]).Ticks * 100;
            times[i] = Math.Max(sinceFirst, times[i - 1] + MinimumGapNanos);
        }
        return times;
    }

    public const long MinimumGapNanos = 1_000_000;

    [GeneratedRegex(@"^.+\.(?<pid>[0-9]+)\.(?<seq>[0-9]{1,19})\.(?:f|[imu][0-9]+)\.heap$")]
    private static partial Regex JemallocName();
}
