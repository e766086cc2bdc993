using System.Diagnostics;

namespace Profiler.Integration.Tests.Faults;

/// <summary>A C program compiled for a test into its own temporary folder (deleted on dispose).
/// -fno-builtin keeps every malloc/free the source names: gcc may otherwise drop a pair whose
/// block is never read, and the program would allocate nothing.</summary>
sealed class CompiledC : IDisposable
{
    readonly DirectoryInfo _dir;

    public CompiledC(string name, string source, params string[] flags)
    {
        _dir = Directory.CreateTempSubdirectory("memprof-c-");
        string file = Path.Combine(_dir.FullName, name + ".c");
        File.WriteAllText(file, source);
        Path_ = Path.Combine(_dir.FullName, name);
        var psi = new ProcessStartInfo("cc") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in (string[])["-O1", "-g", "-fno-builtin", .. flags, "-o", Path_, file]) psi.ArgumentList.Add(arg);
        using var cc = Process.Start(psi)!;
        string errors = cc.StandardError.ReadToEnd();
        cc.WaitForExit();
        Assert.True(cc.ExitCode == 0, $"cc failed: {errors}");
    }

    public string Path_ { get; }

    public string Folder => _dir.FullName;

    public void Dispose() => _dir.Delete(recursive: true);
}
