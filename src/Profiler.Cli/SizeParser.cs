using System.Globalization;
using Profiler.Core;

namespace Profiler.Cli;

public static class SizeParser
{
    static readonly (string Suffix, double Scale)[] Units =
    [
        ("kib", 1024.0), ("mib", 1024.0 * 1024), ("gib", 1024.0 * 1024 * 1024), ("tib", 1024.0 * 1024 * 1024 * 1024),
        ("kb", 1e3), ("mb", 1e6), ("gb", 1e9), ("tb", 1e12),
        ("k", 1024.0), ("m", 1024.0 * 1024), ("g", 1024.0 * 1024 * 1024), ("t", 1024.0 * 1024 * 1024 * 1024),
        ("b", 1.0),
    ];

    /// <summary>Parses a byte count: 4096, 64KiB, 1.5MiB, 2GB (KB/MB/GB are powers of 1000;
    /// K/M/G and KiB/MiB/GiB powers of 1024).</summary>
    public static ulong Parse(string text)
    {
        var t = text.Trim().ToLowerInvariant().Replace("_", "");
        double scale = 1;
        foreach (var (suffix, s) in Units)
            if (t.EndsWith(suffix, StringComparison.Ordinal)) { t = t[..^suffix.Length].TrimEnd(); scale = s; break; }
        if (!double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || value < 0 ||
            double.IsInfinity(value) || value * scale >= ulong.MaxValue)
            throw new ProfilerException(ExitCode.UsageError, $"'{text}' is not a size (examples: 4096, 64KiB, 1MiB, 2GB)");
        double bytes = value * scale;
        // 1.5MiB is a whole number of bytes; 1.5 is not, and is not silently rounded to 2.
        if (Math.Abs(bytes - Math.Round(bytes)) > 1e-6 * Math.Max(1, bytes))
            throw new ProfilerException(ExitCode.UsageError, $"'{text}' is not a whole number of bytes (examples: 4096, 64KiB, 1.5MiB)");
        return (ulong)Math.Round(bytes);
    }

    /// <summary>A short human form: 512 KiB, 1.5 MiB, 100 B.</summary>
    public static string Format(ulong bytes)
    {
        string[] names = ["B", "KiB", "MiB", "GiB", "TiB"];
        double v = bytes;
        int i = 0;
        while (v >= 1024 && i < names.Length - 1) { v /= 1024; i++; }
        return i == 0 ? $"{bytes} B" : $"{v.ToString(v % 1 == 0 ? "0" : "0.#", CultureInfo.InvariantCulture)} {names[i]}";
    }
}
