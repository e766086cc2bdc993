using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Profiler.Core;

namespace Profiler.Collectors.JemallocImport;

/// <summary>
/// Reads jemalloc's heap profile text (`prof.dump`, what jeprof reads):
/// <code>
/// heap_v2/524288
///   t*: 28106: 56637512 [0: 0]
///   t0: 28106: 56637512 [0: 0] optional-thread-name
/// @ 0x7f83d1e0ab8b 0x7f83d1e0a6df …
///   t*: 13: 6688 [0: 0]
///   t0: 13: 6688 [0: 0]
///
/// MAPPED_LIBRARIES:
/// 55e9862b5000-55e9862eb000 r--p 00000000 fe:00 11674290   /path/to/program
/// </code>
/// Input that is not such a profile fails with <see cref="ExitCode.WrongFileType"/>; a profile cut
/// short or with malformed counts or addresses fails with <see cref="ExitCode.CorruptRecording"/>.
/// Every message names the input and the line.
/// </summary>
public static partial class HeapProfileParser
{
    const string HeaderPrefix = "heap_v2/";
    const string MapsSection = "MAPPED_LIBRARIES";
    const string MapsMarker = MapsSection + ":";

    public static HeapProfile Parse(TextReader reader, string name)
    {
        var lines = new LineCursor(reader);
        ulong period = ParseHeader(lines, name);
        if (!lines.Next(out var totalLine))
            throw Truncated(name, lines, "the profile ends after its first line, before its 't*:' totals");
        if (!TryThreadLine(totalLine, out var totalThread) || totalThread is not null)
            throw Malformed(name, lines, $"expected the profile's 't*:' totals, found '{Shorten(totalLine)}'");
        var (total, _) = Counts(totalLine, lines, name, nameAllowed: false);
        var threads = new List<HeapThreadCounts>();
        var stacks = new List<HeapStackRecord>();

        while (true)
        {
            if (!lines.Next(out var line))
                throw Truncated(name, lines, $"the profile ends before its {MapsSection} section (the dump was cut short)");
            if (string.IsNullOrWhiteSpace(line)) continue;
            if (line == MapsMarker) break;
            if (line.StartsWith('@'))
            {
                stacks.Add(ParseStack(line, lines, name));
                continue;
            }
            if (stacks.Count == 0 && TryThreadLine(line, out var thread) && thread is { } uid)
            {
                var (counts, threadName) = Counts(line, lines, name, nameAllowed: true);
                threads.Add(new HeapThreadCounts(uid, counts, threadName));
                continue;
            }
            throw Malformed(name, lines, $"expected an '@ ADDRESS…' backtrace or {MapsSection}, found '{Shorten(line)}'");
        }

        var mappings = new List<HeapMapping>();
        while (lines.Next(out var line))
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            mappings.Add(ParseMapping(line, lines, name));
        }
        if (lines.LastLineCut)
            throw Truncated(name, lines, $"the profile ends in the middle of a {MapsSection} line (the dump was cut short)");
        CheckSums(name, stacks);
        return new HeapProfile(period, total, threads, stacks, mappings);
    }

    /// <summary>jemalloc writes each backtrace's t* as the sum of its tN lines (the same
    /// per-thread counts, merged; a backtrace it writes has live or counted objects, so at least
    /// one thread line), so a backtrace without them or whose lines disagree was damaged (a changed
    /// digit, a lost line): its figures would be wrong, so the dump is refused. (The profile's own
    /// t* is not checked: in jemalloc 5.3's dumps it is not the sum of the backtraces'.)</summary>
    static void CheckSums(string name, List<HeapStackRecord> stacks)
    {
        foreach (var stack in stacks)
            if (stack.Threads.Count == 0)
                throw Damaged(name, $"the backtrace on line {stack.Line} has no per-thread counts ('tN:' lines)");
            else if (Sum(stack.Threads.Select(t => t.Counts)) is var perThread && perThread != stack.Total)
                throw Damaged(name, $"the backtrace on line {stack.Line} counts {Describe(stack.Total)} in all, but its threads {Describe(perThread)}");
    }

    static HeapCounts Sum(IEnumerable<HeapCounts> counts)
    {
        ulong objects = 0, bytes = 0, accObjects = 0, accBytes = 0;
        foreach (var c in counts)
            checked
            {
                try
                {
                    objects += c.Objects;
                    bytes += c.Bytes;
                    accObjects += c.AccumulatedObjects;
                    accBytes += c.AccumulatedBytes;
                }
                catch (OverflowException) { return new HeapCounts(ulong.MaxValue, ulong.MaxValue, ulong.MaxValue, ulong.MaxValue); }
            }
        return new HeapCounts(objects, bytes, accObjects, accBytes);
    }

    static string Describe(HeapCounts c) => $"{c.Objects} objects of {c.Bytes} bytes [{c.AccumulatedObjects}: {c.AccumulatedBytes}]";

    static ProfilerException Damaged(string name, string what) =>
        new(ExitCode.CorruptRecording, $"{name}: the counts do not add up — {what}; the dump is damaged");

    static ulong ParseHeader(LineCursor lines, string name)
    {
        if (!lines.Next(out var first))
            throw new ProfilerException(ExitCode.WrongFileType, $"{name} is empty, not a jemalloc heap profile");
        if (!first.StartsWith(HeaderPrefix, StringComparison.Ordinal))
        {
            string found = first.Any(c => char.IsControl(c) && c != '\t') ? "binary data" : $"'{Shorten(first)}'";
            throw new ProfilerException(ExitCode.WrongFileType,
                $"{name}, line 1: not a jemalloc heap profile: expected '{HeaderPrefix}<sample period>' (from prof.dump), found {found}");
        }
        string period = first[HeaderPrefix.Length..];
        if (!ulong.TryParse(period, NumberStyles.None, CultureInfo.InvariantCulture, out ulong value) || value == 0)
            throw Malformed(name, lines, $"'{Shorten(first)}' has no valid sample period (a positive number of bytes)");
        // jemalloc samples every 2^lg_prof_sample bytes: any other period is a damaged one.
        if ((value & (value - 1)) != 0)
            throw Malformed(name, lines, $"the sample period {value} is not a power of two, as jemalloc's always is (2^lg_prof_sample)");
        return value;
    }

    static HeapStackRecord ParseStack(string line, LineCursor lines, string name)
    {
        int start = lines.Number;
        var addresses = new List<ulong>();
        foreach (var token in line[1..].Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!TryAddress(token, out ulong address))
                throw Malformed(name, lines, $"'{Shorten(token)}' is not a hexadecimal address in the backtrace");
            addresses.Add(address);
        }
        if (!lines.Next(out var totalLine))
            throw Truncated(name, lines, $"the profile ends inside the record that starts on line {start} (the dump was cut short)");
        if (!TryThreadLine(totalLine, out var totalThread) || totalThread is not null)
            throw Malformed(name, lines, $"the backtrace on line {start} is not followed by its 't*:' totals, found '{Shorten(totalLine)}'");
        var (total, _) = Counts(totalLine, lines, name, nameAllowed: false);
        var threads = new List<HeapThreadCounts>();
        while (lines.Peek() is { } next && TryThreadLine(next, out var thread))
        {
            lines.Next(out _);
            if (thread is not { } uid)
                throw Malformed(name, lines, $"a second 't*:' line in the record that starts on line {start}");
            threads.Add(new HeapThreadCounts(uid, Counts(next, lines, name, nameAllowed: false).Counts));
        }
        return new HeapStackRecord(addresses, total, threads, start);
    }

    /// <summary>jemalloc writes addresses with %#x: "0x7f…", and a bare "0" for null.</summary>
    static bool TryAddress(string token, out ulong address)
    {
        var digits = token.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? token.AsSpan(2) : token.AsSpan();
        return ulong.TryParse(digits, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out address) && digits.Length > 0;
    }

    /// <summary>Recognizes "  t*: …" (thread null) and "  tN: …" without checking the counts.</summary>
    static bool TryThreadLine(string line, out ulong? thread)
    {
        thread = null;
        var match = ThreadPrefix().Match(line);
        if (!match.Success) return false;
        if (match.Groups["id"].Value == "*") return true;
        if (!ulong.TryParse(match.Groups["id"].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out ulong uid)) return false;
        thread = uid;
        return true;
    }

    /// <summary>"tX: OBJECTS: BYTES [OBJECTS: BYTES]", on header lines optionally followed by the
    /// thread's name.</summary>
    static (HeapCounts Counts, string? Name) Counts(string line, LineCursor lines, string name, bool nameAllowed)
    {
        var match = CountsLine().Match(line);
        if (match.Success && (nameAllowed || match.Groups["name"].Length == 0) &&
            TryCount(match.Groups["objects"].Value, out var objects) && TryCount(match.Groups["bytes"].Value, out var bytes) &&
            TryCount(match.Groups["accObjects"].Value, out var accObjects) && TryCount(match.Groups["accBytes"].Value, out var accBytes))
        {
            string threadName = match.Groups["name"].Value.Trim();
            return (new HeapCounts(objects, bytes, accObjects, accBytes), threadName.Length == 0 ? null : threadName);
        }
        throw Malformed(name, lines, $"malformed counts '{Shorten(line.Trim())}': expected 'tN: OBJECTS: BYTES [OBJECTS: BYTES]'");
    }

    static bool TryCount(string text, out ulong value) =>
        ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);

    [GeneratedRegex(@"^\s*t(?<id>\*|[0-9]+):")]
    private static partial Regex ThreadPrefix();

    [GeneratedRegex(@"^\s*t(?:\*|[0-9]+):\s+(?<objects>[0-9]+):\s+(?<bytes>[0-9]+)\s+\[\s*(?<accObjects>[0-9]+):\s+(?<accBytes>[0-9]+)\](?<name>(?:\s.*)?)$")]
    private static partial Regex CountsLine();

    /// <summary>"start-end perms offset dev inode [path]"; the path may contain spaces.</summary>
    static HeapMapping ParseMapping(string line, LineCursor lines, string name)
    {
        var parts = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
        var range = parts.Length >= 5 ? parts[0].Split('-') : [];
        if (range.Length == 2 &&
            ulong.TryParse(range[0], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong start) &&
            ulong.TryParse(range[1], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong end) &&
            ulong.TryParse(parts[2], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong offset) &&
            start < end && parts[1].Length == 4)
            return new HeapMapping(start, end, parts[1], offset, parts.Length == 6 ? parts[5].Trim() : "");
        throw Malformed(name, lines, $"malformed {MapsSection} line '{Shorten(line)}': expected 'START-END PERMS OFFSET DEV INODE [PATH]'");
    }

    /// <summary>A malformed current line; when it is the last one and lacks its newline the file
    /// was cut inside it, which is the more useful thing to say.</summary>
    static ProfilerException Malformed(string name, LineCursor lines, string what) =>
        lines.AtCutLine
            ? Truncated(name, lines, "the profile ends in the middle of this line (the dump was cut short)")
            : new(ExitCode.CorruptRecording, $"{name}, line {lines.Number}: {what}");

    static ProfilerException Truncated(string name, LineCursor lines, string what) =>
        new(ExitCode.CorruptRecording, $"{name}, line {Math.Max(1, lines.Number)}: {what}");

    static string Shorten(string text) => text.Length <= 60 ? text : text[..57] + "...";

    /// <summary>Lines with their numbers, one of look-ahead, and whether the last one lacked its
    /// newline (jemalloc ends every line with one, so a missing one means the file was cut).</summary>
    sealed class LineCursor(TextReader reader)
    {
        string? _peeked;
        bool _hasPeeked;
        bool _lastHadNewline = true;

        public int Number { get; private set; }
        public bool LastLineCut => !_lastHadNewline;
        /// <summary>The current line is the last and was cut (nothing left to peek).</summary>
        public bool AtCutLine => LastLineCut && Peek() is null;

        public string? Peek()
        {
            if (!_hasPeeked) { _peeked = ReadRaw(); _hasPeeked = true; }
            return _peeked;
        }

        public bool Next(out string line)
        {
            string? next = Peek();
            _hasPeeked = false;
            if (next is null) { line = ""; _hasPeeked = true; return false; }
            Number++;
            line = next;
            return true;
        }

        string? ReadRaw()
        {
            var text = new StringBuilder();
            while (true)
            {
                int c = reader.Read();
                if (c < 0)
                {
                    if (text.Length == 0) return null;
                    _lastHadNewline = false;
                    return text.ToString().TrimEnd('\r');
                }
                if (c == '\n') return text.ToString().TrimEnd('\r');
                text.Append((char)c);
            }
        }
    }
}
