using Xunit.Abstractions;
using Profiler.Core.Model;
using Profiler.Core.Recording;
using Profiler.Export;

namespace Profiler.Integration.Tests;

/// <summary>
/// A launched .NET program's precompiled (ReadyToRun) code, which its perf map never lists, is
/// named from the runtime's jitdump: every sampled frame in an assembly's code is named, each
/// entry lies in the mapping of the assembly it names, and the names are the ones the runtime's
/// perf map gives the same methods when they are JIT-compiled instead (DOTNET_ReadyToRun=0).
/// </summary>
public sealed class DotNetReadyToRunTests(ITestOutputHelper log)
{
    const string Sample = "dotnet/DotnetSample";

    [Fact]
    public void Launched_precompiled_methods_are_named_as_the_runtime_names_them_when_it_compiles_them()
    {
        RootRequired.Check();
        var sample = RepoPaths.Sample(Sample);
        var dir = Directory.CreateTempSubdirectory("memprof-dotnet-r2r");
        try
        {
            var output = Path.Combine(dir.FullName, "r2r.memprof");
            var result = CliRunner.Run("record", "--rate", "1", "--no-firefox", "-o", output, "--", sample);
            Assert.True(result.ExitCode == 0, result.Stderr);
            var recording = RecordingReader.Read(output);
            uint pid = recording.Header.TargetPid;
            Assert.False(File.Exists($"/tmp/jit-{pid}.dump"), "the jitdump memprof asked for was left in /tmp");

            var precompiled = recording.JitSymbols.Where(j => j.Source == "jitdump" && j.Pid == pid).SelectMany(j => j.Symbols).ToList();
            Assert.True(precompiled.Count >= 100, $"{precompiled.Count} precompiled methods from the jitdump");
            // Each lies in a mapping of the assembly its name gives.
            var modules = recording.Modules.Where(m => m.Pid == pid).ToList();
            var misplaced = precompiled
                .Where(s => modules.FirstOrDefault(m => m.Start <= s.Start && s.Start + s.Size <= m.End) is not { } m ||
                            Path.GetFileName(m.Path) != PerfMapName.Parse(s.Name).Assembly + ".dll")
                .Select(s => $"{s.Start:x} {s.Size:x} {s.Name}").ToList();
            Assert.True(misplaced.Count == 0, $"{misplaced.Count} entries outside their assembly:\n" + string.Join("\n", misplaced.Take(10)));

            var model = RecordingLoader.Load(output, TextWriter.Null);
            var functions = model.Tables.Functions.Select(f => f.Name).ToHashSet();
            var unnamed = functions.Where(n => n.Contains(".dll+0x", StringComparison.Ordinal)).ToList();
            Assert.True(unnamed.Count == 0, $"{unnamed.Count} frames in assemblies unnamed: {string.Join(", ", unnamed.Take(10))}");
            var sampled = precompiled.Select(s => PerfMapName.Parse(s.Name).Function).Where(functions.Contains).ToHashSet();
            Assert.True(sampled.Count >= 50, $"{sampled.Count} precompiled methods in the sampled stacks");

            // Oracle: the runtime's own names for the same methods, JIT-compiled.
            var jitted = JitCompiledNames(sample, dir.FullName);
            var missing = sampled.Where(n => !jitted.Contains(n)).Order(StringComparer.Ordinal).ToList();
            log.WriteLine($"{precompiled.Count} precompiled methods named, {sampled.Count} in sampled stacks, {missing.Count} of them never JIT-compiled without ReadyToRun: " +
                string.Join(", ", missing.Take(10)));
            Assert.True(missing.Count * 20 <= sampled.Count,
                $"{missing.Count} of {sampled.Count} precompiled methods' names are not in the perf map of a run without ReadyToRun code:\n" +
                string.Join("\n", missing.Take(20)));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>The methods of the sample's run, every one JIT-compiled, named by its perf map.</summary>
    static HashSet<string> JitCompiledNames(string sample, string dir)
    {
        var mapDir = Directory.CreateDirectory(Path.Combine(dir, "jitted"));
        var run = ProcessRunner.Run(sample, [], new ProcessOptions()
            .WithEnvironment("DOTNET_ReadyToRun", "0")
            .WithEnvironment("DOTNET_PerfMapEnabled", "3")
            .WithEnvironment("DOTNET_PerfMapJitDumpPath", mapDir.FullName));
        run.EnsureSuccess();
        var map = Directory.GetFiles(mapDir.FullName, $"perf-{run.ProcessId}.map").Single();
        return File.ReadLines(map).Select(l => l.Split(' ', 3)).Where(w => w.Length == 3 && !w[2].StartsWith("stub ", StringComparison.Ordinal))
            .Select(w => PerfMapName.Parse(w[2]).Function).ToHashSet();
    }
}
