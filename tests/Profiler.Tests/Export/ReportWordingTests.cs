using Profiler.Core.Analysis;
using Profiler.Core.Model;
using Profiler.Export;
using Profiler.Tests.Analysis;

namespace Profiler.Tests.Export;

/// <summary>The report says where each figure comes from, which way missing events push it, how
/// many stacks were cut, and why a site table is empty.</summary>
public sealed class ReportWordingTests
{
    const long Ms = 1_000_000;
    const ulong Rate = 512 * 1024;

    static List<string> Lines(ProfileModel model, TextReportOptions? options = null)
    {
        var output = new StringWriter();
        TextReport.Write(model, options ?? new TextReportOptions(), output);
        return output.ToString().Split('\n').Select(l => l.TrimEnd('\r')).ToList();
    }

    static string Text(ProfileModel model, TextReportOptions? options = null) => string.Join('\n', Lines(model, options));

    /// <summary>Two allocations, one freed, and a free whose allocation is not in the recording.</summary>
    static ProfileModel WithUnpairedFree(bool launched)
    {
        var m = new TestModel();
        var s = m.Stack("main", "app::f");
        return m.Alloc(0, 0x10, 100, s).Alloc(1, 0x20, 50, s).Free(2, 0x10).Free(3, 0x999).Build(launched: launched);
    }

    [Fact]
    public void Unpaired_frees_are_from_before_recording_only_when_attached()
    {
        Assert.Contains("Unpaired:   1 free of blocks allocated before recording began (not attributed)", Lines(WithUnpairedFree(launched: false)));
        Assert.Contains("Unpaired:   1 free whose allocation event was lost (not attributed): allocated figures are too LOW",
            Lines(WithUnpairedFree(launched: true)));
    }

    [Fact]
    public void A_childs_unpaired_free_may_be_of_a_block_from_before_its_fork()
    {
        var m = new TestModel().Process(1, "parent").Process(2, "child", endNanos: 9 * Ms, exitCode: 0, parent: 1);
        var model = m.Alloc(0, 0x10, 8, m.Stack("main", "app::f"), pid: 2).Free(1, 0x500, pid: 2).Build();
        Assert.Contains("Unpaired:   1 free in child processes of blocks allocated before their fork, or lost (not attributed)", Lines(model));
    }

    [Fact]
    public void Lost_events_say_which_figures_they_push_up_and_which_down()
    {
        // 0x10 allocated twice without a free between: that free was lost. 0x999's free has no allocation: that one was lost.
        var m = new TestModel();
        var s = m.Stack("main", "app::f");
        var model = m.Alloc(0, 0x10, 100, s).Alloc(1, 0x10, 100, s).Free(2, 0x999).Build(lostEvents: 2);
        var lines = Lines(model);
        int lost = lines.FindIndex(l => l.StartsWith("Lost:", StringComparison.Ordinal));
        Assert.Equal([
            "Lost:       2 events (ring buffer full), so figures from events are off:",
            "            allocated too LOW by the lost allocations (1 free had no recorded allocation)",
            "            retained and leaked too HIGH by the blocks whose free was lost (1 address reused while live)",
        ], lines.Skip(lost).Take(3));
    }

    [Fact]
    public void Untracked_samples_make_retained_and_leaked_too_high()
    {
        var m = new TestModel(Rate);
        var model = m.Alloc(0, 0x10, 100, m.Stack("app::f"), weight: Rate).Build(untrackedSamples: 3);
        Assert.Contains("Untracked:  3 sampled blocks the collector could not follow (its table was full): their frees were not " +
                        "recorded, so retained and leaked are too HIGH", Lines(model));
    }

    [Fact]
    public void The_share_of_stacks_cut_short_is_reported()
    {
        var m = new TestModel();
        var whole = m.Stack("main", "app::f");
        var model = m.Alloc(0, 0x10, 8, whole).Alloc(1, 0x20, 8, whole).Alloc(2, 0x30, 8, whole).Build();
        // A stack of the same frames under the [truncated] root.
        var cut = model.Tables.InternStack(model.Tables.InternStack(StackId.None, model.Tables.TruncatedFrame()), model.Tables.Stack(whole).Frame);
        model.Events.Stack[2] = cut;
        var lines = Lines(model);
        int stacks = lines.IndexOf("Stacks:     66.7% complete (1 of 3 sampled stacks cut short: their outer frames are missing, shown as [truncated])");
        Assert.True(stacks > 0, string.Join('\n', lines));
        // Why, when the recording says how its stacks were taken.
        Assert.False(lines[stacks + 1].StartsWith("            ", StringComparison.Ordinal));
        var framePointers = new ProfileModel
        {
            Info = model.Info with { Stacks = "frame-pointer" }, Tables = model.Tables, Processes = model.Processes, Events = model.Events,
        };
        Assert.Contains("            a frame-pointer walk stops at code built without frame pointers; --unwind dwarf gets past it",
            Lines(framePointers));
        Assert.DoesNotContain(Lines(WithUnpairedFree(true)), l => l.StartsWith("Stacks:", StringComparison.Ordinal));
    }

    [Fact]
    public void With_counters_the_exact_figures_come_first_and_the_sampled_ones_are_labelled_with_their_error()
    {
        // One sampled 100-byte block standing for 1,000 B, live at exit; the counters saw 40 calls.
        var m = new TestModel(Rate).Process(TestModel.Pid, "app", endNanos: 10 * Ms, exitCode: 0);
        var model = m.Alloc(1 * Ms, 0x10, 100, m.Stack("main", "app::f"), weight: 1000)
            .Counter(10 * Ms, live: 640, peak: 4000, peakTime: 5 * Ms, allocations: 40, allocatedBytes: 9000, frees: 30, freedBytes: 8000)
            .Build(durationNanos: 10 * Ms);
        var lines = Lines(model);
        // √(1000·(1000 − 100)) = 949 B.
        Assert.Equal([
            "Counters:   9,000 B in 40 calls; freed 8,000 B usable in 30 calls; exact",
            "Sampling:   one sample per 512 KiB allocated on average: figures from events are estimates (± one standard error)",
            "Attributed: 1,000 B ± 949 B in ~10 blocks, estimated from 1 sample; freed 0 B",
            "Peak heap:  4,000 B at 5.0 ms (exact, allocator counters)",
            "At end:     640 B live, usable size (exact, allocator counters); sampled: 1,000 B ± 949 B in ~10 blocks",
            "Leaked:     640 B still live at exit, usable size (exact, allocator counters); sampled: 1,000 B ± 949 B in ~10 blocks",
        ], lines.Skip(2).Take(6));
    }

    [Fact]
    public void An_empty_site_table_says_why_instead_of_top_0()
    {
        var m = new TestModel(Rate);
        var s = m.Stack("main", "app::f");
        var model = m.Alloc(0, 0x10, 100, s, weight: Rate).Free(1, 0x10)
            .Counter(10 * Ms, live: 4096, peak: 5000, peakTime: 0, allocations: 10, allocatedBytes: 9000, frees: 9, freedBytes: 4904)
            .Build();
        string report = Text(model);
        Assert.DoesNotContain("Top 0", report);
        Assert.Contains("Sites by retained bytes (live at the end of the recording): none\n" +
                        "  No site has bytes live at the end: the one sampled allocation was freed. The 4,096 B the counters\n" +
                        "  show live at the end were never sampled (one sample per 512 KiB allocated on average; --rate 1\n" +
                        "  records every allocation). --by allocated lists where allocations were made.", report);

        Assert.Contains("No site leaked: no process exit was recorded, so nothing counts as leaked (--by retained: live at the end).",
            Unwrapped(model, new TextReportOptions(By: SiteOrder.Leaked)));
        var nothingSampled = new TestModel(Rate).Counter(10 * Ms, live: 0, peak: 100, peakTime: 0, allocations: 3, allocatedBytes: 300).Build();
        Assert.Contains("Sites by retained bytes (live at the end of the recording): none\n  No allocation was sampled: the counters " +
                        "saw 3 calls (one sample per 512 KiB allocated on average; --rate 1 records every allocation).", Unwrapped(nothingSampled));
    }

    /// <summary>The report with the explanation's wrapped lines joined again.</summary>
    static string Unwrapped(ProfileModel model, TextReportOptions? options = null)
    {
        var lines = Lines(model, options);
        var result = new List<string>();
        foreach (var line in lines)
        {
            if (result.Count > 0 && line.StartsWith("  ", StringComparison.Ordinal) && result[^1].StartsWith("  No ", StringComparison.Ordinal))
                result[^1] += " " + line.Trim();
            else result.Add(line);
        }
        return string.Join('\n', result);
    }

    [Fact]
    public void A_site_row_names_the_program_function_and_the_library_path()
    {
        var m = new TestModel()
            .Library("opendir", null, "/usr/lib/x86_64-linux-gnu/libc.so.6")
            .Library("__alloc_dir", null, "/usr/lib/x86_64-linux-gnu/libc.so.6")
            .Library("malloc", null, "/usr/lib/x86_64-linux-gnu/libc.so.6");
        var model = m.Alloc(0, 0x10, 32816, m.Stack("main", "app::scan:30", "opendir", "__alloc_dir", "malloc")).Build();
        Assert.Contains("      app::scan  via opendir → __alloc_dir  src/scan.rs:30  [app]", Lines(model));
        Assert.Contains("      __alloc_dir  [libc.so.6]", Lines(model, new TextReportOptions(Sites: SiteMode.Innermost)));
    }
}
