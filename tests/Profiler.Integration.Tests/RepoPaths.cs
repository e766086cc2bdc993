namespace Profiler.Integration.Tests;

static class RepoPaths
{
    public static string Root => Profiler.Tests.RepoRoot.Path;

    public static string Sample(string name)
    {
        var path = Path.Combine(Root, "samples", "bin", name);
        if (!File.Exists(path))
            throw new InvalidOperationException($"{path} is missing: run samples/build.sh first");
        return path;
    }
}
