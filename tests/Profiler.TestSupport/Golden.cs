using System.Runtime.CompilerServices;

namespace Profiler.TestSupport;

/// <summary>Outputs accepted on purpose and kept in the source tree. On a mismatch the actual
/// output is written beside the golden as NAME.received.EXT and the test fails saying how to
/// accept it; with MEMPROF_ACCEPT=1 in the environment the golden is overwritten instead.</summary>
public static class Golden
{
    public const string AcceptVariable = "MEMPROF_ACCEPT";

    /// <summary>Compares <paramref name="actual"/> with the golden at <paramref name="relativePath"/>,
    /// a path relative to the folder of the calling source file (or an absolute path).</summary>
    public static void Verify(string relativePath, string actual, [CallerFilePath] string caller = "")
    {
        string golden = Path.Combine(Path.GetDirectoryName(caller)!, relativePath);
        string received = Path.Combine(Path.GetDirectoryName(golden)!,
            Path.GetFileNameWithoutExtension(golden) + ".received" + Path.GetExtension(golden));
        string? expected = File.Exists(golden) ? File.ReadAllText(golden) : null;
        if (expected == actual)
        {
            File.Delete(received);
            return;
        }
        Directory.CreateDirectory(Path.GetDirectoryName(golden)!);
        if (Environment.GetEnvironmentVariable(AcceptVariable) == "1")
        {
            File.WriteAllText(golden, actual);
            File.Delete(received);
            return;
        }
        File.WriteAllText(received, actual);
        Assert.Fail($"{golden} {(expected is null ? "does not exist yet" : "differs from the output")}: review {received} and, " +
                    $"if it is right, accept it with: mv '{received}' '{golden}' (or rerun the tests with {AcceptVariable}=1)");
    }
}
