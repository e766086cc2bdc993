using Profiler.Core.Analysis;
using Profiler.Formatting;

namespace Profiler.Tests.Formatting;

public sealed class ReportFormatTests
{
    [Theory]
    [InlineData(0, "0 B")]
    [InlineData(9_999, "9,999 B")]
    [InlineData(10_000, "9.77 KiB")]
    [InlineData(40_960, "40.0 KiB")]
    [InlineData(1_023_487, "999 KiB")]
    [InlineData(1_023_488, "0.98 MiB")]
    [InlineData(4_194_304, "4.00 MiB")]
    [InlineData(123_456_789_012, "115 GiB")]
    [InlineData(-20_480, "-20.0 KiB")]
    public void Bytes_are_exact_when_small_and_three_digits_otherwise(long bytes, string expected)
    {
        Assert.Equal(expected, ReportFormat.Bytes(bytes));
        Assert.True(ReportFormat.Bytes(bytes).Length <= 9);
    }

    [Theory]
    [InlineData(0, "0")]
    [InlineData(0.3, "<1")]
    [InlineData(2.5, "3")]
    [InlineData(5243.4, "5,243")]
    [InlineData(9_999_999, "9,999,999")]
    [InlineData(12_345_678, "12.3 M")]
    [InlineData(2.5e9, "2.50 G")]
    public void Counts_are_rounded(double count, string expected) => Assert.Equal(expected, ReportFormat.Count(count));

    [Theory]
    [InlineData(850, "850 ns")]
    [InlineData(13_100, "13.1 µs")]
    [InlineData(1_580_000, "1.58 ms")]
    [InlineData(45_600_000_000, "45.6 s")]
    [InlineData(3_600_000_000_000, "60 min")]
    public void Durations_pick_their_unit(double nanos, string expected) => Assert.Equal(expected, ReportFormat.Duration(nanos));

    [Fact]
    public void Missing_figures_are_a_dash()
    {
        Assert.Equal("-", ReportFormat.Duration(null));
        Assert.Equal("-", ReportFormat.Percent(null));
        Assert.Equal("<1%", ReportFormat.Percent(0.001));
        Assert.Equal("67%", ReportFormat.Percent(2 / 3.0));
    }

    [Theory]
    [InlineData(1_000_000, "1 ms")]
    [InlineData(500_000, "500 µs")]
    [InlineData(2_500_000_000, "2.5 s")]
    public void Thresholds_read_as_written(long nanos, string expected) => Assert.Equal(expected, ReportFormat.Threshold(nanos));

    [Fact]
    public void Long_text_is_cut_in_the_middle_or_at_the_start()
    {
        Assert.Equal("abcdefg…xyz", ReportFormat.Fit("abcdefghijklmnopqrstuvwxyz", 11));
        Assert.Equal("…/c/d.rs", ReportFormat.Fit("/a/bbbbbbbbbb/c/d.rs", 10, keepEnd: true));
        Assert.Equal("short", ReportFormat.Fit("short", 10));
    }

    [Theory]
    [InlineData("src/grow.rs", new[] { 9, 7 }, null, "src/grow.rs:9,7")]
    [InlineData("src/grow.rs", new[] { 1, 2, 3, 4, 5 }, null, "src/grow.rs:1,2,3,+2 more")]
    [InlineData("src/grow.rs", new int[0], 12, "src/grow.rs:12")]
    [InlineData("src/grow.rs", new int[0], null, "src/grow.rs")]
    [InlineData(null, new[] { 5 }, null, "line 5")]
    [InlineData(null, new int[0], null, null)]
    public void A_site_location_lists_its_call_lines(string? file, int[] lines, int? functionLine, string? expected)
    {
        var site = new FunctionMetrics(null, "f", null, file, lines, functionLine, default);
        Assert.Equal(expected, SiteLabel.Location(site));
    }

    [Theory]
    [InlineData("src/grow.rs", "libgrow.so", null, "src/grow.rs:9  [libgrow.so]")]
    [InlineData("src/grow.rs", null, null, "src/grow.rs:9")]
    [InlineData(null, "libgrow.so", null, "[libgrow.so]")]
    [InlineData(null, "libgrow.so", "(no source location)", "(no source location)  [libgrow.so]")]
    [InlineData(null, null, null, "")]
    public void A_site_is_placed_by_location_and_module(string? file, string? module, string? noLocation, string expected)
    {
        var site = new FunctionMetrics(null, "f", module, file, file is null ? [] : [9], null, default);
        Assert.Equal(expected, SiteLabel.Where(site, noLocation));
    }
}
