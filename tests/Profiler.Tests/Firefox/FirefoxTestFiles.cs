using System.Runtime.CompilerServices;

namespace Profiler.Tests.Firefox;

/// <summary>Finds files that live beside these tests in the source tree.</summary>
static class FirefoxTestFiles
{
    const string TestsDirectory = "tests/Profiler.Tests/Firefox";

    public static string ExampleProfile => Path.Combine(Directory(), "fixtures", "example-native-allocs.v70.json");

    public static string LoaderScript => Path.GetFullPath(Path.Combine(Directory(), "..", "..", "firefox-loader", "retained.sh"));

    static string Directory([CallerFilePath] string thisFile = "")
    {
        var besideThisFile = Path.GetDirectoryName(thisFile);
        if (besideThisFile is not null && System.IO.Directory.Exists(besideThisFile)) return besideThisFile;
        // Builds that map source paths away: look upwards from the test binaries instead.
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, TestsDirectory);
            if (System.IO.Directory.Exists(candidate)) return candidate;
        }
        throw new DirectoryNotFoundException($"cannot find {TestsDirectory} from {AppContext.BaseDirectory}");
    }
}
