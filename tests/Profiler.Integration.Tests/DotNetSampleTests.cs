using System.Diagnostics;
using System.IO.Compression;
using System.Text.Json;
using Profiler.Core.Analysis;
using Profiler.Core.Model;
using Profiler.Export;
using Profiler.Tests.Pprof;

namespace Profiler.Integration.Tests;

/// <summary>
/// A .NET program whose native allocations happen in a Rust library (samples/dotnet): at --rate 1
/// every site of its manifest is exact, launched (in-process sampling and probes) and attached,
/// and each site's stack names its C# caller (the perf map copied into the recording) in the
/// model, the Firefox profile and pprof; no warning about what every .NET process maps.
/// </summary>
public sealed class DotNetSampleTests
{
    const string Sample = "dotnet/DotnetSample";

    // Launched with --mode probe the runtime's start (some 15,000 mallocs in a second, each with a
    // stack copy) overflows the ring buffer, so that combination is not exact yet; attaching
    // probes too, and is.
    [Theory]
    [InlineData("preload")]
    public void Launched_every_site_is_exact_with_its_csharp_caller_named(string mode)
    {
        RootRequired.Check();
        var sample = RepoPaths.Sample(Sample);
        var manifest = Manifest.Read(sample);
        var dir = Directory.CreateTempSubdirectory("memprof-dotnet");
        var output = Path.Combine(dir.FullName, "dotnet.memprof");
        var result = CliRunner.Run("record", "--rate", "1", "--mode", mode, "-o", output, "--", sample);
        Assert.True(result.ExitCode == 0, result.Stderr);
        var problems = CheckRecording(output, manifest, result.Stderr);
        // Precompiled code is named through the runtime's jitdump.
        problems.AddRange(UnnamedReadyToRunFrames(output));
        // The perf map memprof turned on was copied into the recording; the file is not left behind.
        Assert.False(File.Exists($"/tmp/perf-{RecordingPid(output)}.map"), "the perf map memprof asked for was left in /tmp");
        dir.Delete(recursive: true);
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void Attached_every_site_of_a_run_is_exact_with_its_csharp_caller_named()
    {
        RootRequired.Check();
        var manifest = Manifest.Read(RepoPaths.Sample(Sample));
        using var target = ServeTarget.Start(Sample, new ProcessOptions { Interactive = true });
        var dir = Directory.CreateTempSubdirectory("memprof-dotnet-attach");
        var output = Path.Combine(dir.FullName, "attach.memprof");
        try
        {
            using var memprof = CliRunner.StartOwnProcess("record", "--rate", "1", "--pid", target.Id.ToString(), "-o", output);
            WaitUntilRecording(output, memprof);
            target.Send("run");
            var lines = new List<string>();
            while (target.ReadLine(TimeSpan.FromSeconds(60)) is { } line && line != "done") lines.Add(line);
            // The runtime's GC heap counter comes once a second, once its session is up: let a few come.
            Thread.Sleep(5000);
            ProcessRunner.RunChecked("kill", ["-TERM", memprof.Id.ToString()]);
            var recorded = memprof.WaitForExit(TimeSpan.FromSeconds(60));
            recorded.EnsureSuccess();
            Assert.False(target.HasExited, "the target died");
            var problems = CheckRecording(output, manifest, recorded.Stderr);
            // Every event through the shared rings, where a full ring makes the writer wait: none lost
            // (a trap per event, each with a copy of the JIT code's stack, overflowed the kernel's buffer).
            if (!recorded.Stderr.Contains("events through shared rings", StringComparison.Ordinal)) problems.Add($"no shared rings: {recorded.Stderr}");
            if (recorded.Stderr.Contains("events LOST", StringComparison.Ordinal)) problems.Add($"events lost: {recorded.Stderr}");
            if (File.Exists($"/tmp/perf-{target.Id}.map")) problems.Add("the perf map memprof asked for was left in /tmp");
            // ReadyToRun code that ran before the perf map was turned on is named through ClrMD.
            problems.AddRange(UnnamedReadyToRunFrames(output));
            problems.AddRange(StoppedOrTraced(target.Id));

            // The managed heap, apart from the native one: the runtime's own figure at the end of
            // the run (GC.GetTotalMemory, printed by the sample) is what the last samples show,
            // within the counter's whole megabytes.
            long after = long.Parse(lines.Single(l => l.StartsWith("gc-total-memory after ", StringComparison.Ordinal)).Split(' ')[^1]);
            var heap = Profiler.Core.Recording.RecordingReader.Read(output).ManagedHeap.Where(h => h.Pid == (uint)target.Id).ToList();
            if (heap.Count == 0) problems.Add("no GC heap samples recorded");
            else if (Math.Abs((long)heap[^1].GcHeapBytes - after) > 1_500_000)
                problems.Add($"GC heap last {heap[^1].GcHeapBytes:N0} B, the runtime said {after:N0} B");
            if (!GcHeapTrack(Path.ChangeExtension(output, ".json.gz"), after)) problems.Add("no GC heap track in the Firefox profile near the runtime's figure");
            var report = CliRunner.Run("report", output);
            if (!report.Stdout.Contains("GC heap:", StringComparison.Ordinal)) problems.Add($"no GC heap line in the report:\n{report.Stdout}");
            Assert.True(problems.Count == 0, string.Join("\n", problems));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>No diagnostics IPC, so no perf map to ask for: the sampled JIT code is named through
    /// ClrMD before memprof lets the process go, every site still exact with its C# callers, and
    /// the process left running, untraced.</summary>
    [Fact]
    public void Attached_without_diagnostics_IPC_every_site_is_exact_with_its_csharp_caller_named_through_ClrMD()
    {
        RootRequired.Check();
        var manifest = Manifest.Read(RepoPaths.Sample(Sample));
        using var target = ServeTarget.Start(Sample, new ProcessOptions { Interactive = true }.WithEnvironment("DOTNET_EnableDiagnostics", "0"));
        var dir = Directory.CreateTempSubdirectory("memprof-dotnet-noipc");
        var output = Path.Combine(dir.FullName, "noipc.memprof");
        try
        {
            using var memprof = CliRunner.StartOwnProcess("record", "--rate", "1", "--pid", target.Id.ToString(), "-o", output);
            WaitUntilRecording(output, memprof);
            target.Send("run");
            while (target.ReadLine(TimeSpan.FromSeconds(60)) is { } line && line != "done") { }
            ProcessRunner.RunChecked("kill", ["-TERM", memprof.Id.ToString()]);
            var recorded = memprof.WaitForExit(TimeSpan.FromSeconds(60));
            recorded.EnsureSuccess();
            Assert.Contains($"process {target.Id} is a .NET program without a perf map (it has no diagnostics IPC socket", recorded.Stderr);
            Assert.Contains("its managed frames were named through ClrMD", recorded.Stderr);
            Assert.Contains(Profiler.Core.Recording.RecordingReader.Read(output).JitSymbols, j => j.Source == "clrmd" && j.Pid == (uint)target.Id);
            var problems = CheckRecording(output, manifest, recorded.Stderr);
            problems.AddRange(UnnamedReadyToRunFrames(output));
            problems.AddRange(StoppedOrTraced(target.Id));
            // It still answers: it was let go.
            target.Send("run");
            if (target.ReadLine(TimeSpan.FromSeconds(30))?.StartsWith("gc-total-memory", StringComparison.Ordinal) != true)
                problems.Add("the target no longer answers after the recording");
            Assert.True(problems.Count == 0, string.Join("\n", problems));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>ClrMD names the sample's own methods as its runtime's perf map does, with the same
    /// code ranges, and lets the process go (oracle: the perf map the runtime itself writes).</summary>
    [Fact]
    public void ClrMD_names_the_samples_methods_as_its_perf_map_does()
    {
        RootRequired.Check();
        // Run by a shell, so it is not this process's child: .NET reaps its own children's wait
        // statuses (System.Diagnostics.Process), which would swallow the main thread's ptrace stop.
        using var shell = ProcessRunner.Start("sh", ["-c", "\"$0\" serve; true", RepoPaths.Sample(Sample)], new ProcessOptions { Interactive = true }
            .WithEnvironment(Profiler.Collectors.Linux.DotNet.DotNetProcesses.PerfMapVariable, "3"));
        string ready = shell.ReadLine(TimeSpan.FromSeconds(60)) ?? "";
        Assert.StartsWith("ready ", ready);
        int pid = int.Parse(ready.Split(' ')[1]);
        var target = shell;
        string map = $"/tmp/perf-{pid}.map";
        try
        {
            target.Send("run");
            while (target.ReadLine(TimeSpan.FromSeconds(60)) is { } line && line != "done") { }
            var expected = File.ReadAllLines(map).Select(Profiler.Collectors.Linux.DotNet.PerfMapFile.Parse)
                .Where(e => e is not null && e.Name.Contains("[DotnetSample] DotnetSample.", StringComparison.Ordinal)).Select(e => e!).ToList();
            Assert.True(expected.Count >= 6, $"the perf map names only {expected.Count} of the sample's methods");
            // A return address just past each method's first byte and one at its end.
            var addresses = expected.SelectMany(e => new[] { e.Start + 2, e.Start + e.Size }).ToList();

            var named = new Profiler.Collectors.Linux.DotNet.ClrMdCodeNamer().Name(pid, addresses);

            Assert.Null(named.Failure);
            var problems = new List<string>();
            foreach (var entry in expected)
            {
                var want = PerfMapName.Parse(entry.Name);
                // A method compiled once has only that code, which the runtime describes exactly;
                // code of an earlier tier is named, without its extent (just the call).
                bool single = expected.Count(e => PerfMapName.Parse(e.Name) == want) == 1;
                foreach (ulong call in new[] { entry.Start + 1, entry.Start + entry.Size - 1 })
                {
                    var got = named.Symbols.Where(n => n.Start <= call && call < n.Start + n.Size).ToList();
                    if (got.Count != 1) { problems.Add($"{want.Function} at 0x{call:x}: {got.Count} symbols"); continue; }
                    var (start, size, name) = (got[0].Start, got[0].Size, PerfMapName.Parse(got[0].Name));
                    if (name != want) problems.Add($"0x{call:x}: ClrMD says {name}, the perf map {want}");
                    if (start < entry.Start || start + size > entry.Start + entry.Size || single && (start, size) != (entry.Start, entry.Size))
                        problems.Add($"{want.Function}: ClrMD's code 0x{start:x}+0x{size:x}, the perf map's 0x{entry.Start:x}+0x{entry.Size:x}");
                }
            }
            Assert.True(problems.Count == 0, string.Join("\n", problems));
            Assert.Empty(StoppedOrTraced(pid));
        }
        finally
        {
            File.Delete(map);
        }
    }

    /// <summary>ClrMD cannot read a runtime without its DAC: memprof says so in one line (the
    /// sample runs on a copy of the installed runtime without libmscordaccore.so), and a process
    /// that is not .NET is said to have no runtime; neither is stopped.</summary>
    [Fact]
    public void ClrMD_says_plainly_why_it_cannot_name_a_process()
    {
        var installed = Path.GetDirectoryName(Path.GetDirectoryName(Path.GetDirectoryName(
            System.Runtime.InteropServices.RuntimeEnvironment.GetRuntimeDirectory().TrimEnd('/'))))!;
        string version = Path.GetFileName(System.Runtime.InteropServices.RuntimeEnvironment.GetRuntimeDirectory().TrimEnd('/'));
        var root = Directory.CreateTempSubdirectory("memprof-nodac");
        try
        {
            Copy(Path.Combine(installed, "host"), Path.Combine(root.FullName, "host"));
            string runtime = Path.Combine(root.FullName, "shared", "Microsoft.NETCore.App", version);
            Copy(Path.Combine(installed, "shared", "Microsoft.NETCore.App", version), runtime);
            File.Delete(Path.Combine(runtime, Profiler.Collectors.Linux.DotNet.ClrMdCodeNamer.DacName));
            // DOTNET_ROOT_X64 first: `dotnet test` sets it for what it runs, and it wins over DOTNET_ROOT.
            using var target = ServeTarget.Start(Sample, new ProcessOptions { Interactive = true }
                .WithEnvironment("DOTNET_ROOT_X64", root.FullName).WithEnvironment("DOTNET_ROOT", root.FullName));
            var coreclr = File.ReadAllLines($"/proc/{target.Id}/maps").Where(l => l.EndsWith("/libcoreclr.so", StringComparison.Ordinal)).Select(l => l[(l.IndexOf('/'))..]).Distinct().ToList();
            Assert.Equal([runtime + "/libcoreclr.so"], coreclr);

            var named = new Profiler.Collectors.Linux.DotNet.ClrMdCodeNamer().Name(target.Id, [0x1000]);

            Assert.Equal($"ClrMD needs the runtime's DAC, {runtime}/libmscordaccore.so, which is not there", named.Failure);
            Assert.Empty(StoppedOrTraced(target.Id));

            using var sleeper = ProcessRunner.Start("sleep", ["60"]);
            Assert.Equal("ClrMD found no libcoreclr.so mapped in it", new Profiler.Collectors.Linux.DotNet.ClrMdCodeNamer().Name(sleeper.Id, [0x1000]).Failure);
        }
        finally
        {
            root.Delete(recursive: true);
        }

        static void Copy(string from, string to)
        {
            foreach (var dir in Directory.GetDirectories(from, "*", SearchOption.AllDirectories))
                Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, dir)));
            Directory.CreateDirectory(to);
            foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
                File.Copy(file, Path.Combine(to, Path.GetRelativePath(from, file)));
        }
    }

    /// <summary>A launched program whose user turned the diagnostics off still writes the perf map
    /// memprof turns on (an environment variable, no IPC): its callers are named as usual.</summary>
    [Fact]
    public void Launched_with_diagnostics_turned_off_every_site_is_exact_with_its_csharp_caller_named()
    {
        RootRequired.Check();
        var sample = RepoPaths.Sample(Sample);
        var manifest = Manifest.Read(sample);
        var dir = Directory.CreateTempSubdirectory("memprof-dotnet-nodiag");
        var output = Path.Combine(dir.FullName, "nodiag.memprof");
        var words = CliRunner.OwnProcessWords("record", "--rate", "1", "--mode", "preload", "-o", output, "--", sample);
        using var memprof = ProcessRunner.Start(words[0], words[1..], new ProcessOptions().WithEnvironment("DOTNET_EnableDiagnostics", "0"));
        var result = memprof.WaitForExit(TimeSpan.FromMinutes(3));
        result.EnsureSuccess();
        var problems = CheckRecording(output, manifest, result.Stderr);
        if (result.Stderr.Contains("stay unnamed", StringComparison.Ordinal)) problems.Add($"record said frames stay unnamed: {result.Stderr}");
        Assert.False(File.Exists($"/tmp/perf-{RecordingPid(output)}.map"), "the perf map memprof asked for was left in /tmp");
        dir.Delete(recursive: true);
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    /// <summary>Frames left as an assembly's ReadyToRun code and an offset (managed code unnamed).</summary>
    static IEnumerable<string> UnnamedReadyToRunFrames(string output)
    {
        var unnamed = RecordingLoader.Load(output, TextWriter.Null).Tables.Functions.Select(f => f.Name)
            .Where(n => n.Contains(".dll+0x", StringComparison.Ordinal)).ToList();
        if (unnamed.Count > 0) yield return $"{unnamed.Count} managed frames left unnamed: {string.Join(", ", unnamed.Take(5))}";
    }

    /// <summary>Threads of the process that are stopped or traced (by anyone).</summary>
    static List<string> StoppedOrTraced(int pid)
    {
        var problems = new List<string>();
        foreach (var task in Directory.GetDirectories($"/proc/{pid}/task"))
        {
            var status = File.ReadAllLines(Path.Combine(task, "status"));
            string state = status.First(l => l.StartsWith("State:", StringComparison.Ordinal));
            string tracer = status.First(l => l.StartsWith("TracerPid:", StringComparison.Ordinal));
            if (state.Contains("stopped", StringComparison.Ordinal) || !tracer.EndsWith("\t0", StringComparison.Ordinal))
                problems.Add($"thread {Path.GetFileName(task)}: {state}, {tracer}");
        }
        return problems;
    }

    /// <summary>Exact sites, callers named in the model, Firefox and pprof, no .NET-specific warnings.</summary>
    static List<string> CheckRecording(string output, IReadOnlyList<ManifestSite> manifest, string recordStderr)
    {
        var problems = new List<string>();
        foreach (var unexpected in new[] { "not an ELF file", "doublemapper", ".dll" })
            if (recordStderr.Contains(unexpected, StringComparison.Ordinal))
                problems.Add($"record warned about '{unexpected}': {recordStderr}");
        var warnings = new StringWriter();
        var model = RecordingLoader.Load(output, warnings);
        foreach (var unexpected in new[] { "not an ELF file", "doublemapper", ".dll" })
            if (warnings.ToString().Contains(unexpected, StringComparison.Ordinal))
                problems.Add($"loading warned about '{unexpected}': {warnings}");
        problems.AddRange(SiteTotals.Mismatches(manifest, SiteTotals.Of(model)));
        problems.AddRange(ModelCallers(model, manifest));

        var firefox = Path.ChangeExtension(output, ".json.gz");
        var export = CliRunner.Run("export", output, "-o", firefox);
        if (export.ExitCode != 0) problems.Add($"firefox export failed: {export.Stderr}");
        else problems.AddRange(FirefoxCallers(firefox, manifest));

        var pprof = Path.ChangeExtension(output, ".pb.gz");
        export = CliRunner.Run("export", output, "--format", "pprof", "-o", pprof);
        if (export.ExitCode != 0) problems.Add($"pprof export failed: {export.Stderr}");
        else problems.AddRange(PprofCallers(pprof, manifest));
        return problems;
    }

    /// <summary>Every event of a manifest site has, right above the Rust function, the C# method the
    /// manifest names and then its caller (chain: outermost first, ending with the site).</summary>
    static IEnumerable<string> ModelCallers(ProfileModel model, IReadOnlyList<ManifestSite> manifest)
    {
        var ev = model.Events;
        var seen = new HashSet<string>();
        for (int i = 0; i < ev.Count; i++)
        {
            if (ev.Kind[i] != EventKind.Alloc || SiteAnalysis.SiteOf(model.Tables, ev.Stack[i]) is not { } site) continue;
            string name = model.Tables.Function(site).Name;
            if (manifest.FirstOrDefault(s => s.Function == name) is not { } expected) continue;
            var callers = LeafFirst(model.Tables, ev.Stack[i]).SkipWhile(f => f != name).ToList();
            var want = expected.Chain.Reverse().ToList();
            if (callers.Count < want.Count || !callers.Take(want.Count).SequenceEqual(want))
            {
                if (seen.Add(name)) yield return $"model: {name}'s stack is {string.Join(" <- ", callers.Take(6))}, expected {string.Join(" <- ", want)}";
            }
        }
        foreach (var site in manifest.Where(s => !seen.Contains(s.Function)))
            if (!Enumerable.Range(0, ev.Count).Any(i => ev.Kind[i] == EventKind.Alloc &&
                    SiteAnalysis.SiteOf(model.Tables, ev.Stack[i]) is { } s && model.Tables.Function(s).Name == site.Function))
                yield return $"model: no event of {site.Function}";
    }

    static IEnumerable<string> LeafFirst(CallTreeTables tables, StackId stack)
    {
        for (var node = stack; !node.IsNone; node = tables.Stack(node).Parent)
            yield return tables.Function(tables.Frame(tables.Stack(node).Frame).Function).Name;
    }

    /// <summary>The Firefox profile's allocations of each site: the caller chain above it, the C#
    /// frames in the .NET category.</summary>
    static IEnumerable<string> FirefoxCallers(string profile, IReadOnlyList<ManifestSite> manifest)
    {
        using var json = JsonDocument.Parse(new GZipStream(File.OpenRead(profile), CompressionMode.Decompress));
        var stacks = FirefoxStacks.Of(json);
        foreach (var site in manifest)
        {
            var want = site.Chain.Reverse().ToList();
            var chains = stacks.Allocations.Where(a => a.Weight > 0)
                .Select(a => stacks.LeafFirst(a.Stack).Select(f => f.Name).SkipWhile(n => n != site.Function).Take(want.Count).ToList())
                .Where(c => c.Count > 0).ToList();
            if (chains.Count == 0) yield return $"firefox: no allocation of {site.Function}";
            else if (chains.FirstOrDefault(c => !c.SequenceEqual(want)) is { } wrong)
                yield return $"firefox: {string.Join(" <- ", wrong)}, expected {string.Join(" <- ", want)}";
        }
        var categories = json.RootElement.GetProperty("meta").GetProperty("categories").EnumerateArray()
            .Select(c => (Name: c.GetProperty("name").GetString(), Color: c.GetProperty("color").GetString())).ToList();
        if (!categories.Contains((".NET (managed)", "green"))) yield return $"firefox: no managed category in {string.Join(", ", categories)}";
        foreach (var problem in RuntimeFrameCategories(json.RootElement, categories.ConvertAll(c => c.Name))) yield return problem;
    }

    /// <summary>The runtime's own native frames (libcoreclr.so, libclrjit.so) are grouped in the
    /// ".NET runtime" category, and there are some.</summary>
    static IEnumerable<string> RuntimeFrameCategories(JsonElement root, List<string?> categories)
    {
        var shared = root.GetProperty("shared");
        var strings = shared.GetProperty("stringArray").EnumerateArray().Select(s => s.GetString()).ToList();
        var frames = shared.GetProperty("frameTable");
        var frameFunc = frames.GetProperty("func").EnumerateArray().Select(f => f.GetInt32()).ToList();
        var frameCategory = frames.GetProperty("category").EnumerateArray().Select(c => c.GetInt32()).ToList();
        var funcResource = shared.GetProperty("funcTable").GetProperty("resource").EnumerateArray()
            .Select(r => r.ValueKind == JsonValueKind.Number ? r.GetInt32() : -1).ToList();
        var resourceName = shared.GetProperty("resourceTable").GetProperty("name").EnumerateArray().Select(n => strings[n.GetInt32()]).ToList();
        int runtimeFrames = 0;
        for (int i = 0; i < frameFunc.Count; i++)
        {
            int resource = funcResource[frameFunc[i]];
            if (resource < 0 || resourceName[resource] is not ("libcoreclr.so" or "libclrjit.so")) continue;
            runtimeFrames++;
            if (categories[frameCategory[i]] != ".NET runtime")
            {
                yield return $"firefox: a {resourceName[resource]} frame is in category {categories[frameCategory[i]]}";
                yield break;
            }
        }
        if (runtimeFrames == 0) yield return "firefox: no libcoreclr.so or libclrjit.so frame";
    }

    /// <summary>`go tool pprof -traces`: each site's trace lists its callers after it.</summary>
    static IEnumerable<string> PprofCallers(string profile, IReadOnlyList<ManifestSite> manifest)
    {
        var traces = GoPprof.Run(profile, "-traces", "-sample_index=alloc_space").Split("-----------+-------------------------------------------------------");
        foreach (var site in manifest)
        {
            var want = site.Chain.Reverse().ToList();
            var found = traces.Select(t => t.Split('\n').Select(l => l.Trim()).Select(l => l.Split("   ", StringSplitOptions.RemoveEmptyEntries).LastOrDefault()?.Trim() ?? "")
                    .SkipWhile(n => n != site.Function).Take(want.Count).ToList())
                .Where(c => c.Count > 0).ToList();
            if (found.Count == 0) yield return $"pprof: no trace of {site.Function}";
            else if (found.FirstOrDefault(c => !c.SequenceEqual(want)) is { } wrong)
                yield return $"pprof: {string.Join(" <- ", wrong)}, expected {string.Join(" <- ", want)}";
        }
    }

    /// <summary>The profile has a "GC heap" counter whose running sum ends within the counter's
    /// whole megabytes of <paramref name="bytes"/>.</summary>
    static bool GcHeapTrack(string profile, long bytes)
    {
        using var json = JsonDocument.Parse(new GZipStream(File.OpenRead(profile), CompressionMode.Decompress));
        if (!json.RootElement.TryGetProperty("counters", out var counters)) return false;
        foreach (var counter in counters.EnumerateArray())
        {
            if (counter.GetProperty("name").GetString() != "GC heap") continue;
            long sum = counter.GetProperty("samples").GetProperty("count").EnumerateArray().Sum(c => c.GetInt64());
            return Math.Abs(sum - bytes) <= 1_500_000;
        }
        return false;
    }

    static uint RecordingPid(string output) => Profiler.Core.Recording.RecordingReader.Read(output).Header.TargetPid;

    /// <summary>Until the attached recording has its probes in (memprof says which, once they are).</summary>
    static void WaitUntilRecording(string output, RunningProcess memprof)
    {
        var sw = Stopwatch.StartNew();
        while (!memprof.StandardErrorSoFar.Contains("probes:", StringComparison.Ordinal))
        {
            if (memprof.HasExited) Assert.Fail(memprof.WaitForExit(TimeSpan.FromSeconds(10)).Describe("exited early"));
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(120), $"{output}: memprof never said its probes were in: {memprof.StandardErrorSoFar}");
            Thread.Sleep(50);
        }
        Thread.Sleep(500);
    }
}
