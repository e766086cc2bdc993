namespace Profiler.TestSupport;

/// <summary>The tools and files tests run against. scripts/install-deps.sh installs every one of
/// them, so a missing one fails the test: a check must never pass by not checking.</summary>
public static class Prerequisites
{
    /// <summary>The program's path on PATH, or null.</summary>
    public static string? FindOnPath(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, tool))
            .FirstOrDefault(File.Exists);

    public static bool IsInstalled(string tool) => FindOnPath(tool) is not null;

    /// <summary>Fails the test, naming every one missing, unless all the tools are on PATH and all the files exist.</summary>
    public static void Require(IEnumerable<string> tools, params string[] files)
    {
        var absent = tools.Where(tool => !IsInstalled(tool)).Select(tool => $"tool '{tool}'")
            .Concat(files.Where(file => !File.Exists(file)).Select(file => $"file {file}"))
            .ToList();
        if (absent.Count > 0)
            Assert.Fail($"{string.Join(", ", absent)} not available; run scripts/install-deps.sh");
    }
}
