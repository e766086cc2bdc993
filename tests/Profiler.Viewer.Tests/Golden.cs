using System.Runtime.CompilerServices;

namespace Profiler.Viewer.Tests;

/// <summary>Screens accepted on purpose: a mismatch writes NAME.received.txt beside NAME.txt and
/// fails, saying how to accept the new screen.</summary>
public static class Golden
{
    public static void Match(string name, string actual, [CallerFilePath] string source = "")
    {
        string dir = Path.Combine(Path.GetDirectoryName(source)!, "golden");
        string expectedPath = Path.Combine(dir, name + ".txt");
        string receivedPath = Path.Combine(dir, name + ".received.txt");
        string expected = File.Exists(expectedPath) ? File.ReadAllText(expectedPath) : "";
        if (expected == actual)
        {
            File.Delete(receivedPath);
            return;
        }
        Directory.CreateDirectory(dir);
        File.WriteAllText(receivedPath, actual);
        Assert.Fail($"screen '{name}' differs from {expectedPath}{(expected.Length == 0 ? " (none accepted yet)" : "")}; " +
                    $"inspect {receivedPath} and accept it with: mv '{receivedPath}' '{expectedPath}'");
    }
}
