using Profiler.Core.Recording;
using Profiler.Export;

namespace Profiler.Integration.Tests;

/// <summary>`record -- sh -c 'a; b'` captures the commands the shell runs, each as its own process.</summary>
public sealed class ChildProcessTests
{
    [Fact]
    public void Children_forked_and_execed_by_a_shell_are_recorded_exactly()
    {
        RootRequired.Check();
        var sample = RepoPaths.Sample("allocs-fp");
        var manifest = Manifest.Read(sample);
        var leak = manifest.Single(s => s.Function == "allocs::leak_leaf");
        var churn = manifest.Single(s => s.Function == "allocs::churn");
        var dir = Directory.CreateTempSubdirectory("memprof-children");
        var output = Path.Combine(dir.FullName, "sh.memprof");

        var result = CliRunner.Run("record", "--rate", "1", "-o", output, "--", "/bin/sh", "-c", $"'{sample}' leak; '{sample}' churn; exit 3");
        Assert.True(result.ExitCode == 3, $"exit {result.ExitCode}: {result.Stderr}");
        Assert.Contains("following children", result.Stderr);

        var model = RecordingLoader.Load(output, TextWriter.Null);
        var sites = SiteTotals.Of(model);
        var leaked = sites[leak.Function];
        var churned = sites[churn.Function];
        Assert.Equal((leak.Allocations, leak.AllocatedBytes, leak.LiveBytesAtExit), (leaked.Allocations, leaked.AllocatedBytes, leaked.RetainedBytes));
        Assert.Equal((churn.Allocations, churn.AllocatedBytes, 0L), (churned.Allocations, churned.AllocatedBytes, churned.RetainedBytes));
        // Two runs of the sample, two processes: the shell forks for each command.
        uint leakPid = Assert.Single(leaked.Pids), churnPid = Assert.Single(churned.Pids);
        Assert.NotEqual(leakPid, churnPid);
        var processes = model.Processes.ToDictionary(p => p.Pid);
        Assert.Equal(model.Info.TargetPid, processes[leakPid].ParentPid);
        Assert.Equal("allocs-fp", processes[leakPid].Name);
        Assert.Equal(0, processes[leakPid].ExitCode);
        Assert.Equal(3, processes[model.Info.TargetPid].ExitCode);

        // Each process has its own exact totals.
        var counters = RecordingReader.Read(output).Counters;
        var leakCounters = counters.Last(c => c.Pid == leakPid);
        Assert.InRange((long)leakCounters.AllocatedBytes, leak.AllocatedBytes, leak.AllocatedBytes + 16 * 1024);

        // …and is its own process in the Firefox profile, with its allocations on its own thread.
        using var gz = new System.IO.Compression.GZipStream(File.OpenRead(Path.ChangeExtension(output, null) + ".json.gz"),
            System.IO.Compression.CompressionMode.Decompress);
        using var profile = System.Text.Json.JsonDocument.Parse(gz);
        Assert.Empty(Profiler.Firefox.ProfileValidator.Validate(profile));
        var allocatingPids = profile.RootElement.GetProperty("threads").EnumerateArray()
            .Where(t => t.TryGetProperty("nativeAllocations", out var a) && a.GetProperty("length").GetInt32() > 0)
            .Select(t => t.GetProperty("pid").ToString()).ToHashSet();
        Assert.Contains(leakPid.ToString(), allocatingPids);
        Assert.Contains(churnPid.ToString(), allocatingPids);
        dir.Delete(recursive: true);
    }

    [Fact]
    public void No_follow_records_only_the_launched_process()
    {
        RootRequired.Check();
        var sample = RepoPaths.Sample("allocs-fp");
        var dir = Directory.CreateTempSubdirectory("memprof-nofollow");
        var output = Path.Combine(dir.FullName, "sh.memprof");
        var result = CliRunner.Run("record", "--rate", "1", "--no-follow", "--no-firefox", "-o", output, "--", "/bin/sh", "-c", $"'{sample}' leak; exit 0");
        Assert.True(result.ExitCode == 0, result.Stderr);
        var recording = RecordingReader.Read(output);
        Assert.False(recording.Header.FollowsChildren);
        Assert.Empty(recording.Forks);
        Assert.All(Enumerable.Range(0, recording.Events.Count), i => Assert.Equal(recording.Header.TargetPid, recording.Events.Pid[i]));
        var model = RecordingLoader.Load(output, TextWriter.Null);
        Assert.False(SiteTotals.Of(model).ContainsKey("allocs::leak_leaf"));
        dir.Delete(recursive: true);
    }

    [Fact]
    public void No_follow_children_write_no_events_into_the_rings()
    {
        RootRequired.Check();
        var sample = RepoPaths.Sample("allocs-fp");
        var dir = Directory.CreateTempSubdirectory("memprof-nofollow-rings");
        var output = Path.Combine(dir.FullName, "sh.memprof");
        const int pairs = 100_000;
        var result = CliRunner.Run("record", "--rate", "1", "--no-follow", "--no-firefox", "-o", output, "--", "/bin/sh", "-c", $"'{sample}' bench {pairs}; exit 0");
        Assert.True(result.ExitCode == 0, result.Stderr);
        // Every event written into a ring had its stack unwound there: the child's 2 x 100,000
        // would be among them, though memprof drops them, and it would wait for memprof to read them.
        var unwound = System.Text.RegularExpressions.Regex.Match(result.Stderr, @"([0-9,]+) stacks unwound in process");
        Assert.True(unwound.Success, result.Stderr);
        long inRings = long.Parse(unwound.Groups[1].Value.Replace(",", ""));
        Assert.True(inRings < pairs, $"{inRings} events went through the rings: {result.Stderr}");
        var recording = RecordingReader.Read(output);
        Assert.All(Enumerable.Range(0, recording.Events.Count), i => Assert.Equal(recording.Header.TargetPid, recording.Events.Pid[i]));
        dir.Delete(recursive: true);
    }
}
