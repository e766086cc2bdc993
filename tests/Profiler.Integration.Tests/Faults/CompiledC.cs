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
        ProcessRunner.RunChecked("cc", ["-O1", "-g", "-fno-builtin", .. flags, "-o", Path_, file]);
    }

    public string Path_ { get; }

    public string Folder => _dir.FullName;

    public void Dispose() => _dir.Delete(recursive: true);
}
