using System.IO.Compression;
using System.Reflection;
using System.Text.Json;
using Profiler.Core.Analysis;
using Profiler.Core.Model;
using Profiler.Export;

namespace Profiler.Integration.Tests;

/// <summary>`./memprof` as the README runs it: the script builds this checkout compiled ahead of
/// time to native code and runs that. The tests that start memprof as its own process run the same
/// executable when scripts/test.sh names it (<see cref="CliRunner.ExecutableVariable"/>); these run
/// it through the script whatever the environment says.</summary>
public sealed class ShippedExecutableTests
{
    static readonly string Script = Path.Combine(RepoPaths.Root, "memprof");
    static readonly string BuildDirectory = Path.Combine(RepoPaths.Root, ".build", "memprof");

    /// <summary>The script builds on first use (NativeAOT takes minutes on a small machine).</summary>
    static ProcessResult RunScript(params string[] args) =>
        ProcessRunner.Run(Script, args, new ProcessOptions { Timeout = TimeSpan.FromMinutes(20) });

    [Fact]
    public void The_script_runs_this_checkouts_memprof_as_a_native_executable()
    {
        var version = RunScript("--version");
        Assert.True(version.ExitCode == 0, version.Stderr);
        string thisBuild = typeof(Profiler.Cli.MemprofCli).Assembly
            .GetCustomAttribute<System.Reflection.AssemblyInformationalVersionAttribute>()!.InformationalVersion;
        Assert.Equal(thisBuild, version.Stdout.Trim());

        string executable = Path.Combine(BuildDirectory, "memprof");
        byte[] magic = new byte[4];
        using (var file = File.OpenRead(executable)) file.ReadExactly(magic);
        Assert.Equal(new byte[] { 0x7f, (byte)'E', (byte)'L', (byte)'F' }, magic);
        Assert.False(File.Exists(Path.Combine(BuildDirectory, "memprof.dll")), "a memprof.dll beside it: the build was not compiled ahead of time");
    }

    [Fact]
    public void The_native_executable_records_every_allocation_of_a_launched_program_and_exports_it()
    {
        RootRequired.Check();
        var sample = RepoPaths.Sample("allocs-fp");
        var manifest = Manifest.Read(sample);
        var dir = Directory.CreateTempSubdirectory("memprof-native");
        string recording = Path.Combine(dir.FullName, "allocs.memprof");
        var recorded = RunScript("record", "--rate", "1", "-o", recording, "--", sample);
        Assert.True(recorded.ExitCode == 0, $"record exited {recorded.ExitCode}: {recorded.Stderr}");
        Assert.Contains("events through shared rings", recorded.Stderr, StringComparison.Ordinal);

        // Every call of every site of the sample, as the sample counted it.
        var model = RecordingLoader.Load(recording, TextWriter.Null);
        Assert.Equal(0UL, model.Info.LostEvents);
        var ev = model.Events;
        var observed = new Dictionary<string, (long Calls, long Bytes)>();
        for (int i = 0; i < ev.Count; i++)
        {
            if (ev.Kind[i] != EventKind.Alloc || SiteAnalysis.SiteOf(model.Tables, ev.Stack[i]) is not { } site) continue;
            string name = model.Tables.Function(site).Name;
            var (calls, bytes) = observed.GetValueOrDefault(name);
            observed[name] = (calls + 1, bytes + (long)ev.Weight[i]);
        }
        var problems = new List<string>();
        foreach (var function in manifest.GroupBy(s => s.Function))
        {
            var expected = (Calls: function.Sum(s => s.Allocations), Bytes: function.Sum(s => s.AllocatedBytes));
            var seen = observed.GetValueOrDefault(function.Key);
            if (seen != expected) problems.Add($"{function.Key}: {seen.Calls} calls, {seen.Bytes} B recorded; the sample made {expected.Calls}, {expected.Bytes} B");
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));

        // The report and the Firefox profile, from the same executable.
        var report = RunScript("report", recording);
        Assert.True(report.ExitCode == 0, report.Stderr);
        string leaker = manifest.MaxBy(s => s.LiveBytesAtExit)!.Function;
        Assert.Contains(leaker, report.Stdout, StringComparison.Ordinal);
        using (var gz = new GZipStream(File.OpenRead(Path.ChangeExtension(recording, ".json.gz")), CompressionMode.Decompress))
        using (var profile = JsonDocument.Parse(gz))
            Assert.True(profile.RootElement.GetProperty("threads").GetArrayLength() > 0, "a Firefox profile without threads");

        // Bad input: one line and the corrupt-recording exit code, as from the managed build.
        string notRecording = Path.Combine(dir.FullName, "not.memprof");
        File.WriteAllText(notRecording, "plain text\n");
        var refused = RunScript("report", notRecording);
        var expectedRefusal = CliRunner.Run("report", notRecording);
        Assert.Equal(expectedRefusal.ExitCode, refused.ExitCode);
        Assert.Equal(expectedRefusal.Stderr.Trim(), refused.Stderr.Trim());
        dir.Delete(recursive: true);
    }
}
