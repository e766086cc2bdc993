using Profiler.Export;
using Profiler.Tests.Elf;

namespace Profiler.Integration.Tests;

/// <summary>
/// A real program nobody here wrote: ripgrep, rebuilt from Debian's source package with symbols
/// (samples/build-ripgrep.sh), searching /usr/share/doc. Its biggest allocation sites are
/// functions of ripgrep and its crates — where its code asked std or libc for memory — not std's
/// containers or libc's opendir.
/// </summary>
public sealed class RipgrepTests : IDisposable
{
    /// <summary>Where a frame of ripgrep's own code was compiled from: its source tree, or the
    /// crates Debian ships under the cargo registry.</summary>
    static readonly string[] ProgramSources = [Path.Combine(RepoPaths.Root, "samples", "bin", "ripgrep-build") + "/", "/usr/share/cargo/registry/"];

    readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("memprof-rg");

    public void Dispose() => _dir.Delete(recursive: true);

    [Fact]
    public void Top_five_sites_by_allocated_bytes_are_functions_of_ripgrep_and_its_crates()
    {
        RootRequired.Check();
        string rg = RepoPaths.Sample("rg");
        string recording = Path.Combine(_dir.FullName, "rg.memprof");
        // exec: the shell only sends rg's output away; the recorded process is rg itself. One
        // thread (-j1): ripgrep's sequential walker, and a pace the ring buffer keeps up with.
        var result = ExactRecording.Run(recording, "record", "--rate", "1", "--no-firefox", "-o", recording, "--",
            "/bin/sh", "-c", $"exec '{rg}' --no-config -j1 -c 'fn [a-z_]+\\(|Copyright' /usr/share/doc > /dev/null");
        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}: {result.Stderr}");

        var report = CliRunner.Run("report", "--by", "allocated", "--top", "5", recording);
        Assert.True(report.ExitCode == 0, report.Stderr);
        var top = ReportSites.Parse(report.Stdout);
        Assert.True(top.Count == 5, report.Stdout);

        var model = RecordingLoader.Load(recording, TextWriter.Null);
        var libc = LibcFunctions();
        var problems = new List<string>();
        foreach (var site in top)
        {
            if (IsStd(site.Name)) problems.Add($"{site.Name}: a function of Rust's standard library");
            if (libc.Contains(site.Name)) problems.Add($"{site.Name}: a libc function");
            if (site.Module != "rg") problems.Add($"{site.Name}: in module {site.Module ?? "(none)"}, not rg");
            // The debug info says where the function was compiled from.
            var files = model.Tables.Functions.Where(f => f.Name == site.Name).Select(f => f.File ?? "(no file)").Distinct().ToList();
            if (!files.Any(f => ProgramSources.Any(p => f.StartsWith(p, StringComparison.Ordinal))))
                problems.Add($"{site.Name}: compiled from {string.Join(", ", files)}, not ripgrep's sources or its crates");
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems) + "\n" + report.Stdout);
        // The walker opens every directory it searches, and glibc's opendir allocates a 32 KiB
        // buffer each time: in /usr/share/doc most of ripgrep's bytes go there, through std's
        // read_dir, from walkdir (its directory iterator). Each directory's ignore rules are
        // compiled by ripgrep's own ignore crate.
        Assert.Equal("walkdir::IntoIter::push", top[0].Name);
        Assert.Contains("ignore::gitignore::GitignoreBuilder::build", top.Select(s => s.Name));
    }

    static bool IsStd(string function) =>
        new[] { "std::", "core::", "alloc::", "hashbrown::" }.Any(p =>
            function.StartsWith(p, StringComparison.Ordinal) || function.StartsWith("<" + p, StringComparison.Ordinal));

    /// <summary>The functions libc exports (`nm -D`), without their symbol versions.</summary>
    static HashSet<string> LibcFunctions() =>
        SystemTools.Run("nm", "-D", "--defined-only", SystemTools.Libc).Split('\n')
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f.Length == 3)
            .Select(f => f[2].Split('@')[0])
            .ToHashSet();
}
