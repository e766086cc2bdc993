namespace Profiler.Integration.Tests;

static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string Sample(string name)
    {
        var path = Path.Combine(Root, "samples", "bin", name);
        if (!File.Exists(path))
            throw new InvalidOperationException($"{path} is missing: run samples/build.sh first");
        return path;
    }

    static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Profiler.sln"))) return dir.FullName;
        throw new InvalidOperationException("cannot find the repository root (Profiler.sln)");
    }
}
