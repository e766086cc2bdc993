using System.Runtime.CompilerServices;

namespace Profiler.Tests.Checks;

/// <summary>Golden files next to this source file, in Golden/. On a mismatch the actual output is
/// written beside the golden as NAME.received.EXT and the test fails with how to accept it.</summary>
static class Golden
{
    public static void Verify(string fileName, string actual, [CallerFilePath] string caller = "")
    {
        string dir = Path.Combine(Path.GetDirectoryName(caller)!, "Golden");
        string golden = Path.Combine(dir, fileName);
        string received = Path.Combine(dir,
            Path.GetFileNameWithoutExtension(fileName) + ".received" + Path.GetExtension(fileName));
        string? expected = File.Exists(golden) ? File.ReadAllText(golden) : null;
        if (expected == actual)
        {
            File.Delete(received);
            return;
        }
        File.WriteAllText(received, actual);
        Assert.Fail($"{fileName} differs from its golden{(expected is null ? " (missing)" : "")}: review {received} " +
                    $"and, if it is right, accept it with: mv '{received}' '{golden}'");
    }
}
