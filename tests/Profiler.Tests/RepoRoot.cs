namespace Profiler.Tests;

/// <summary>The checkout the tests run from: the folder holding Profiler.sln above the test binaries.</summary>
static class RepoRoot
{
    public static string Path { get; } = Find();

    static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "Profiler.sln"))) return dir.FullName;
        throw new InvalidOperationException($"cannot find the repository root (Profiler.sln) above {AppContext.BaseDirectory}");
    }
}
