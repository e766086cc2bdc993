using System.Globalization;

namespace Profiler.Formatting;

/// <summary>Short, fixed-culture renderings of report figures.</summary>
public static class ReportFormat
{
    static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;
    static readonly string[] Units = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];

    /// <summary>Exact and grouped, so a figure can be checked against ground truth: "5,627,435 B".</summary>
    public static string ExactBytes(long bytes) => string.Format(Invariant, "{0:N0} B", bytes);

    /// <summary>At most 9 characters: exact below 10,000 ("9,999 B"), else three significant
    /// digits in binary units ("10.0 KiB", "1.23 MiB").</summary>
    public static string Bytes(long bytes)
    {
        if (Math.Abs(bytes) < 10_000) return ExactBytes(bytes);
        double value = bytes;
        foreach (var unit in Units)
        {
            value /= 1024;
            if (Math.Abs(value) < 999.5) return $"{ThreeDigits(value)} {unit}";
        }
        return $"{ThreeDigits(value)} {Units[^1]}";
    }

    public static string SignedBytes(long bytes) => bytes > 0 ? "+" + Bytes(bytes) : Bytes(bytes);

    /// <summary>An object count, rounded: estimates from samples have fractions. "&lt;1" for a
    /// positive count that rounds to zero, "12.3 M" from ten million on.</summary>
    public static string Count(double count)
    {
        if (count > 0 && count < 0.5) return "<1";
        if (Math.Abs(count) < 10_000_000) return Math.Round(count, MidpointRounding.AwayFromZero).ToString("N0", Invariant);
        return Math.Abs(count) < 999.5e6 ? $"{ThreeDigits(count / 1e6)} M" : $"{ThreeDigits(count / 1e9)} G";
    }

    /// <summary>"1 block", "3 blocks", "<1 block": a rounded count with its noun.</summary>
    public static string Counted(double count, string noun)
    {
        string text = Count(count);
        return $"{text} {noun}{(text is "1" or "<1" ? "" : "s")}";
    }

    /// <summary>A duration in the unit that suits it: "850 ns", "12.3 µs", "1.23 ms", "45.6 s"; "-" for none.</summary>
    public static string Duration(double? nanos)
    {
        if (nanos is not { } ns) return "-";
        if (ns < 999.5) return $"{Math.Round(ns).ToString(Invariant)} ns";
        if (ns < 999.5e3) return $"{ThreeDigits(ns / 1e3)} µs";
        if (ns < 999.5e6) return $"{ThreeDigits(ns / 1e6)} ms";
        if (ns < 999.5e9) return $"{ThreeDigits(ns / 1e9)} s";
        return $"{Math.Round(ns / 60e9).ToString("N0", Invariant)} min";
    }

    /// <summary>A round duration as a person would write it: "1 ms", "0.5 ms", "2 s".</summary>
    public static string Threshold(long nanos) => nanos switch
    {
        < 1_000 => $"{nanos} ns",
        < 1_000_000 => $"{(nanos / 1e3).ToString("0.###", Invariant)} µs",
        < 1_000_000_000 => $"{(nanos / 1e6).ToString("0.###", Invariant)} ms",
        _ => $"{(nanos / 1e9).ToString("0.###", Invariant)} s",
    };

    /// <summary>"87%", "&lt;1%" for a positive share that rounds to zero, "-" for none.</summary>
    public static string Percent(double? share)
    {
        if (share is not { } s) return "-";
        if (s > 0 && s < 0.005) return "<1%";
        return $"{Math.Round(s * 100).ToString(Invariant)}%";
    }

    /// <summary>Time since the recording began: "202.4 ms", from ten seconds on "12.35 s".</summary>
    public static string Time(long nanos) =>
        Math.Abs(nanos) < 10_000_000_000 ? string.Format(Invariant, "{0:N1} ms", nanos / 1e6) : string.Format(Invariant, "{0:N2} s", nanos / 1e9);

    static string ThreeDigits(double value)
    {
        double magnitude = Math.Abs(value);
        string format = magnitude >= 99.95 ? "F0" : magnitude >= 9.995 ? "F1" : "F2";
        return value.ToString(format, Invariant);
    }

    /// <summary>Shortens <paramref name="text"/> to <paramref name="width"/> characters by
    /// replacing its middle (names) or its start (paths) with "…".</summary>
    public static string Fit(string text, int width, bool keepEnd = false)
    {
        if (text.Length <= width) return text;
        if (keepEnd)
        {
            // Paths read better cut at a directory boundary.
            string end = text[^(width - 1)..];
            int slash = end.IndexOf('/');
            return "…" + (slash > 0 ? end[slash..] : end);
        }
        int tail = (width - 1) / 3;
        return text[..(width - 1 - tail)] + "…" + text[^tail..];
    }
}
