using Profiler.Core;
using Profiler.Core.Analysis;
using Profiler.Core.Model;
using Profiler.Export;
using Profiler.Tests.Analysis;

namespace Profiler.Tests.Export;

/// <summary>`memprof report`: its header, the order of its sites for each --by, and its width.</summary>
public sealed class TextReportTests
{
    const long Ms = 1_000_000;
    const long Us = 1_000;

    /// <summary>
    /// Four sites, each first by a different measure (every allocation recorded; the process exits):
    /// app::leaky keeps 300 B from 0 ms; app::peaky holds 1,000 B over 1–3 ms, when the heap peaks
    /// at 1,300 B; app::many makes 10 blocks of 10 B that live 1 µs; app::big makes 10 blocks of
    /// 400 B one after another, each living 2 ms.
    /// </summary>
    static ProfileModel FourSites()
    {
        var m = new TestModel().Process(TestModel.Pid, "app", endNanos: 100 * Ms, exitCode: 0);
        var leaky = m.Stack("main", "app::leaky:11", "malloc");
        var peaky = m.Stack("main", "app::peaky:22", "malloc");
        var many = m.Stack("main", "app::many:33", "malloc");
        var big = m.Stack("main", "app::big:44", "malloc");
        m.Alloc(0, 0x10, 300, leaky).Alloc(1 * Ms, 0x20, 1000, peaky).Free(3 * Ms, 0x20);
        for (int i = 0; i < 10; i++) m.Alloc(4 * Ms + i * 10 * Us, 0x30, 10, many).Free(4 * Ms + i * 10 * Us + 1 * Us, 0x30);
        for (int i = 0; i < 10; i++) m.Alloc(10 * Ms + i * 3 * Ms, 0x40, 400, big).Free(12 * Ms + i * 3 * Ms, 0x40);
        return m.Build(durationNanos: 100 * Ms);
    }

    static string Report(ProfileModel model, TextReportOptions? options = null)
    {
        var output = new StringWriter();
        TextReport.Write(model, options ?? new TextReportOptions(), output);
        return output.ToString();
    }

    static List<string> Lines(string report) => report.Split('\n').Select(l => l.TrimEnd('\r')).ToList();

    /// <summary>The site names of the table, in order: each row's second line.</summary>
    static List<string> SiteOrder(string report) =>
        Lines(report).Where(l => l.StartsWith("      ", StringComparison.Ordinal) && !l.StartsWith("        ", StringComparison.Ordinal))
            .Select(l => l.Trim().Split("  ")[0]).ToList();

    public static TheoryData<SiteOrder, string[]> Orders() => new()
    {
        { Core.Analysis.SiteOrder.Retained, ["app::leaky"] },
        { Core.Analysis.SiteOrder.Allocated, ["app::big", "app::peaky", "app::leaky", "app::many"] },
        { Core.Analysis.SiteOrder.Peak, ["app::peaky", "app::leaky"] },
        { Core.Analysis.SiteOrder.Leaked, ["app::leaky"] },
        // Ties (10 blocks, 1 block) go by name.
        { Core.Analysis.SiteOrder.Count, ["app::big", "app::many", "app::leaky", "app::peaky"] },
        { Core.Analysis.SiteOrder.ShortLived, ["app::many"] },
    };

    [Theory]
    [MemberData(nameof(Orders))]
    public void Sites_come_in_the_order_asked_for(SiteOrder order, string[] expected)
    {
        var report = Report(FourSites(), new TextReportOptions(By: order));
        Assert.Equal(expected, SiteOrder(report));
        Assert.Contains(Lines(report), l => l.StartsWith($"Top {expected.Length} sites by ", StringComparison.Ordinal));
    }

    [Fact]
    public void Top_limits_the_rows()
    {
        Assert.Equal(["app::big", "app::peaky"], SiteOrder(Report(FourSites(), new TextReportOptions(By: Core.Analysis.SiteOrder.Allocated, Top: 2))));
    }

    [Fact]
    public void The_header_says_what_was_recorded_and_where_the_figures_come_from()
    {
        var lines = Lines(Report(FourSites()));
        Assert.Equal([
            "Command:    app --flag",
            "Recording:  pid 1, launched, 0.10 s, 43 events; test, test-mode",
            "Sampling:   every allocation recorded (rate 1): the figures from events are exact",
            "Allocated:  5,400 B in 22 blocks; freed 5,100 B in 21 blocks; 22 events",
            "Peak heap:  1,300 B at 1.0 ms (from the events)",
            "At end:     300 B live in 1 block",
            "Leaked:     300 B in 1 block still live when their process exited",
            ""], lines.Take(8));
    }

    [Fact]
    public void A_row_shows_every_metric_of_its_site()
    {
        var lines = Lines(Report(FourSites(), new TextReportOptions(By: Core.Analysis.SiteOrder.Allocated)));
        int big = lines.FindIndex(l => l.Contains("app::big", StringComparison.Ordinal));
        // retained, blocks, at peak, allocated, blocks, freed, average life, short-lived share, realloc.
        Assert.Equal("    1       0 B        0       0 B   4,000 B        10   4,000 B  2.00 ms    0%         -", lines[big - 1]);
        Assert.Equal("      app::big  src/big.rs:44  [app]", lines[big]);
        int many = lines.FindIndex(l => l.Contains("app::many", StringComparison.Ordinal));
        Assert.Equal("    4       0 B        0       0 B     100 B        10     100 B  1.00 µs  100%         -", lines[many - 1]);
    }

    [Fact]
    public void Exact_counters_and_sampling_are_named_in_the_header()
    {
        var lines = Lines(Report(FirefoxExportTests.Model()));
        Assert.Contains("Counters:   0 B in 20 calls; freed 0 B usable in 15 calls; exact", lines);
        Assert.Contains("Peak heap:  2,000 B at 150.0 ms (exact, allocator counters)", lines);
        // The counters' exact figure first, then what the events attribute to sites.
        Assert.Contains("At end:     800 B live, usable size (exact, allocator counters); recorded: 50 B in 1 block", lines);
        Assert.Contains("Attributed: 358 B in 4 blocks; freed 308 B in 3 blocks; 4 events", lines);
        Assert.True(lines.FindIndex(l => l.StartsWith("Counters:", StringComparison.Ordinal)) <
                    lines.FindIndex(l => l.StartsWith("Attributed:", StringComparison.Ordinal)));

        // A sampled event of 100 B standing for 300 B: the standard error is √(w(w − s)) = √(300·200) ≈ 245 B.
        var m = new TestModel(samplingRate: 512 * 1024);
        var model = m.Alloc(0, 0x10, 100, m.Stack("app::f"), weight: 300).Build();
        var sampled = Lines(Report(model));
        Assert.Contains("Sampling:   one sample per 512 KiB allocated on average: figures from events are estimates (± one standard error)", sampled);
        Assert.Contains("Allocated:  300 B ± 245 B in ~3 blocks, estimated from 1 sample; freed 0 B", sampled);
        Assert.Contains("At end:     300 B live ± 245 B in ~3 blocks (estimate)", sampled);
    }

    [Fact]
    public void Every_line_fits_in_100_columns()
    {
        var m = new TestModel().Process(TestModel.Pid, "a-process-with-a-rather-long-name-indeed", endNanos: 10, exitCode: 1);
        var longName = "<alloc::collections::btree::map::BTreeMap<K,V,A> as core::iter::traits::collect::FromIterator<(K,V)>>::from_iter::{{closure}}";
        var stack = m.Declare(longName, "/home/someone/.cargo/registry/src/index.crates.io-6f17d22bba15001f/some-crate-1.2.3/src/deeply/nested/module.rs", 1)
            .Stack("main", longName + ":4242", "malloc");
        var model = m.Alloc(0, 0x10, 123_456_789_012, stack).Free(5, 0x10).Alloc(6, 0x20, 7, stack).Free(9, 0x999).Build();
        foreach (var order in Enum.GetValues<SiteOrder>())
        {
            var report = Report(model, new TextReportOptions(By: order));
            Assert.All(Lines(report), line => Assert.True(line.Length <= SiteTable.Width, $"{line.Length} columns: {line}"));
        }
        var shown = Report(model, new TextReportOptions(By: Core.Analysis.SiteOrder.Allocated));
        // The location is cut from the left at a directory, to the 92 columns left after the indent.
        Assert.Contains("\n        …/index.crates.io-6f17d22bba15001f/some-crate-1.2.3/src/deeply/nested/module.rs:4242  [app]\n", shown);
        Assert.Contains("Unpaired:   1 free whose allocation event was lost (not attributed): allocated figures are too LOW", shown);
    }

    [Fact]
    public void A_process_can_be_chosen_and_an_unknown_one_is_an_error()
    {
        var model = FirefoxExportTests.Model();
        var m = new TestModel().Process(1, "parent").Process(2, "child", endNanos: 9 * Ms, exitCode: 0, parent: 1);
        m.Alloc(1 * Ms, 0x10, 64, m.Stack("main", "parent::work")).Alloc(2 * Ms, 0x10, 32, m.Stack("main", "child::work"), pid: 2);
        var twoProcesses = m.Build();

        var both = Lines(Report(twoProcesses));
        Assert.Contains("Processes:  2", both);
        Assert.Contains(both, l => l.StartsWith("        2  child", StringComparison.Ordinal) && l.EndsWith("exited 0, child of 1", StringComparison.Ordinal));
        Assert.Equal(["parent::work", "child::work"], SiteOrder(Report(twoProcesses)));

        var child = Report(twoProcesses, new TextReportOptions(Pid: 2));
        Assert.Equal(["child::work"], SiteOrder(child));
        Assert.Contains("Top 1 sites by retained bytes (live at the end of the recording), pid 2", Lines(child));

        var error = Assert.Throws<ProfilerException>(() => Report(model, new TextReportOptions(Pid: 77)));
        Assert.Equal(ExitCode.TargetNotFound, error.ExitCode);
        Assert.Contains("no process 77", error.Message);
    }
}
