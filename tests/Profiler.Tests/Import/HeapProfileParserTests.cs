using Profiler.Collectors.JemallocImport;
using Profiler.Core;

namespace Profiler.Tests.Import;

public sealed class HeapProfileParserTests
{
    /// <summary>A dump as jemalloc 5.3 writes it (two threads, one of them named, three backtraces).</summary>
    internal const string TwoThreads = """
        heap_v2/524288
          t*: 230: 233718297 [3: 7000]
          t0: 227: 233716673 [2: 5000]
          t3: 3: 1624 [1: 2000] worker
        @ 0x55e986382160 0x55e986382731 0x55e9862ee79a
          t*: 217: 233711793 [0: 0]
          t0: 217: 233711793 [0: 0]
        @ 0x55e986382160 0x55e9863c3af8
          t*: 1: 8 [0: 0]
          t0: 1: 8 [0: 0]
        @ 0x55e986382160 0x55e9862ee000 0
          t*: 12: 6496 [3: 7000]
          t0: 9: 4872 [2: 5000]
          t3: 3: 1624 [1: 2000]

        MAPPED_LIBRARIES:
        55e9862b5000-55e9862eb000 r--p 00000000 fe:00 11674290                   /opt/app/bin/my program
        55e9862eb000-55e9863e0000 r-xp 00035000 fe:00 11674290                   /opt/app/bin/my program
        55e9b1733000-55e9b1754000 rw-p 00000000 00:00 0                          [heap]
        7f3da345c000-7f3da35b2000 r-xp 00026000 fe:00 332096                     /usr/lib/x86_64-linux-gnu/libc.so.6
        7ffd1a9f0000-7ffd1a9f2000 r-xp 00000000 00:00 0                          [vdso]

        """;

    internal static HeapProfile Parse(string text, string name = "app.1234.0.m0.heap") =>
        HeapProfileParser.Parse(new StringReader(text), name);

    [Fact]
    public void A_jemalloc_dump_reads_completely()
    {
        var p = Parse(TwoThreads);
        Assert.Equal(524288UL, p.SamplePeriod);
        Assert.Equal(new HeapCounts(230, 233718297, 3, 7000), p.Total);
        Assert.Equal([new HeapThreadCounts(0, new HeapCounts(227, 233716673, 2, 5000)), new HeapThreadCounts(3, new HeapCounts(3, 1624, 1, 2000), "worker")], p.Threads);
        Assert.Equal(3, p.Stacks.Count);
        Assert.Equal([0x55e986382160UL, 0x55e986382731UL, 0x55e9862ee79aUL], p.Stacks[0].Addresses);
        Assert.Equal(new HeapCounts(217, 233711793, 0, 0), p.Stacks[0].Total);
        Assert.Equal(5, p.Stacks[0].Line);
        Assert.Equal(0UL, p.Stacks[2].Addresses[^1]);
        Assert.Equal(new HeapCounts(12, 6496, 3, 7000), p.Stacks[2].Total);
        Assert.Equal([0UL, 3UL], p.Stacks[2].Threads.Select(t => t.Thread));
        Assert.Equal(new HeapCounts(3, 1624, 1, 2000), p.Stacks[2].Threads[1].Counts);
        Assert.Equal(5, p.Mappings.Count);
        Assert.Equal(new HeapMapping(0x55e9862eb000, 0x55e9863e0000, "r-xp", 0x35000, "/opt/app/bin/my program"), p.Mappings[1]);
        Assert.Equal(["/opt/app/bin/my program", "/usr/lib/x86_64-linux-gnu/libc.so.6"],
            p.Mappings.Where(m => m.IsExecutableFile).Select(m => m.Path));
    }

    [Fact]
    public void Windows_line_ends_an_empty_backtrace_and_an_empty_map_are_accepted()
    {
        var p = Parse("heap_v2/1\r\n  t*: 1: 16 [0: 0]\r\n@\r\n  t*: 1: 16 [0: 0]\r\n  t0: 1: 16 [0: 0]\r\n\r\nMAPPED_LIBRARIES:\r\n");
        Assert.Equal(1UL, p.SamplePeriod);
        Assert.Empty(p.Stacks.Single().Addresses);
        Assert.Single(p.Stacks.Single().Threads);
        Assert.Empty(p.Mappings);
    }

    static ProfilerException Fails(string text) => Assert.Throws<ProfilerException>(() => Parse(text, "x.heap"));

    [Theory]
    [InlineData("", "x.heap is empty, not a jemalloc heap profile")]
    [InlineData("heap profile:   10:   200 [    0:     0] @ heap\n", "x.heap, line 1: not a jemalloc heap profile: expected 'heap_v2/<sample period>'")]
    [InlineData("MEMPROF\n\u0008\u0001\u0012", "x.heap, line 1: not a jemalloc heap profile")]
    [InlineData("{\"nodes\": []}\n", "found '{\"nodes\": []}'")]
    public void Other_files_are_the_wrong_file_type(string text, string message)
    {
        var e = Fails(text);
        Assert.Equal(ExitCode.WrongFileType, e.ExitCode);
        Assert.Contains(message, e.Message);
        Assert.StartsWith("x.heap", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Theory]
    // Cut short: after the header, inside a record, before or inside the maps.
    [InlineData("heap_v2/524288\n", 1, "the profile ends after its first line")]
    [InlineData("heap_v2/524288\n  t*: 1: 8 [0: 0]\n@ 0x1 0x2\n", 3, "the profile ends inside the record that starts on line 3")]
    [InlineData("heap_v2/524288\n  t*: 1: 8 [0: 0]\n@ 0x1 0x2\n  t*: 1: 8 [0: 0]\n  t0: 1: 8 [0: 0]\n", 5, "ends before its MAPPED_LIBRARIES section")]
    [InlineData("heap_v2/524288\n  t*: 1: 8 [0: 0]\n@ 0x1 0x2\n  t*: 1: 8 [0:", 4, "ends in the middle of this line")]
    [InlineData("heap_v2/524288\n  t*: 1: 8 [0: 0]\n\nMAPPED_LIBRARIES:\n55e9862b5000-55e9862eb000 r--p 00000000 fe:00 11674290   /bin/x\n55e9862eb000-55e98", 6, "ends in the middle of this line")]
    [InlineData("heap_v2/524288\n  t*: 1: 8 [0: 0]\n\nMAPPED_LIBRARIES:\n55e9862b5000-55e9862eb000 r--p 00000000 fe:00 11674290   /bin/x", 5, "ends in the middle of a MAPPED_LIBRARIES line")]
    // Malformed.
    [InlineData("heap_v2/lots\n", 1, "has no valid sample period")]
    [InlineData("heap_v2/0\n", 1, "has no valid sample period")]
    [InlineData("heap_v2/524288\n  t*: 1: eight [0: 0]\n", 2, "malformed counts 't*: 1: eight [0: 0]'")]
    [InlineData("heap_v2/524288\n  t*: 1: 8 [0: 0]\n@ 0x1 0x2\n  t*: -1: 8 [0: 0]\n", 4, "malformed counts")]
    [InlineData("heap_v2/524288\n  t*: 1: 8 [0: 0]\n@ 0x1 0x2\n  t*: 1: 8\n", 4, "malformed counts 't*: 1: 8'")]
    [InlineData("heap_v2/524288\n  t*: 1: 8 [0: 0]\n@ 0x1 0x2\n  t*: 1: 8 [0: 0] extra\n", 4, "malformed counts")]
    [InlineData("heap_v2/524288\n  t*: 1: 8 [0: 0]\n@ 0x1 0x2\n  t*: 1: 99999999999999999999 [0: 0]\n", 4, "malformed counts")]
    [InlineData("heap_v2/524288\n  t*: 1: 8 [0: 0]\n@ 0x1 0xfoo 0x3\n  t*: 1: 8 [0: 0]\n", 3, "'0xfoo' is not a hexadecimal address")]
    [InlineData("heap_v2/524288\n  t*: 1: 8 [0: 0]\n@ 0x1 0x\n  t*: 1: 8 [0: 0]\n", 3, "'0x' is not a hexadecimal address")]
    [InlineData("heap_v2/524288\n  t*: 1: 8 [0: 0]\n@ 0x1 0x10000000000000000\n  t*: 1: 8 [0: 0]\n", 3, "is not a hexadecimal address")]
    [InlineData("heap_v2/524288\n  t*: 1: 8 [0: 0]\n@ 0x1\n@ 0x2\n", 4, "the backtrace on line 3 is not followed by its 't*:' totals")]
    [InlineData("heap_v2/524288\n  t*: 1: 8 [0: 0]\n@ 0x1\n  t*: 1: 8 [0: 0]\n  t*: 1: 8 [0: 0]\n", 5, "a second 't*:' line in the record that starts on line 3")]
    [InlineData("heap_v2/524288\n  t*: 1: 8 [0: 0]\n@ 0x1\n  t*: 1: 8 [0: 0]\n  what is this\n", 5, "expected an '@ ADDRESS…' backtrace or MAPPED_LIBRARIES,")]
    [InlineData("heap_v2/524288\n  t0: 1: 8 [0: 0]\n", 2, "expected the profile's 't*:' totals")]
    [InlineData("heap_v2/524288\n  t*: 1: 8 [0: 0]\n\nMAPPED_LIBRARIES:\n55e9862eb000-55e9862b5000 r-xp 00000000 fe:00 1 /bin/x\n", 5, "malformed MAPPED_LIBRARIES line")]
    [InlineData("heap_v2/524288\n  t*: 1: 8 [0: 0]\n\nMAPPED_LIBRARIES:\nnot a mapping\n", 5, "malformed MAPPED_LIBRARIES line 'not a mapping'")]
    public void Damaged_profiles_name_the_file_and_line(string text, int line, string message)
    {
        var e = Fails(text);
        Assert.Equal(ExitCode.CorruptRecording, e.ExitCode);
        Assert.StartsWith($"x.heap, line {line}: ", e.Message);
        Assert.Contains(message, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Every_cut_of_a_real_dump_is_reported_as_cut_or_malformed_never_accepted()
    {
        // A dump cut anywhere before its last line is incomplete; only cuts inside the final
        // newline-terminated maps could pass unnoticed, and jemalloc's maps always end with one.
        string text = TwoThreads;
        int mapsStart = text.IndexOf("MAPPED_LIBRARIES:", StringComparison.Ordinal);
        for (int cut = 0; cut < text.Length - 1; cut++)
        {
            if (cut > mapsStart && text[cut - 1] == '\n') continue; // a whole-line cut inside the maps is a shorter map
            var e = Assert.Throws<ProfilerException>(() => Parse(text[..cut], "x.heap"));
            Assert.True(e.ExitCode is ExitCode.CorruptRecording or ExitCode.WrongFileType, $"cut at {cut}: {e.ExitCode} {e.Message}");
            Assert.Matches(cut == 0 ? "^x.heap is empty" : @"^x\.heap, line [0-9]+: ", e.Message);
        }
    }
}
