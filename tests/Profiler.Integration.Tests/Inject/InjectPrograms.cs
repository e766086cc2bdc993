namespace Profiler.Integration.Tests.Inject;

/// <summary>The programs and libraries of the remote loader's tests, compiled into a temporary
/// folder: the allocating target (inject_target.c) and the library to load (inject_lib.c).</summary>
public sealed class InjectPrograms : IDisposable
{
    readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("memprof-inject-");
    static string Source(string name) => Path.Combine(RepoPaths.Root, "tests", "Profiler.Integration.Tests", "Inject", name);

    public InjectPrograms()
    {
        Target = Path.Combine(_dir.FullName, "inject_target");
        Compile("-O2", "-pthread", "-o", Target, Source("inject_target.c"));
        Library = Path.Combine(_dir.FullName, "libinject_lib.so");
        Compile("-O2", "-shared", "-fPIC", "-o", Library, Source("inject_lib.c"));
        SlowLibrary = Path.Combine(_dir.FullName, "libinject_slow.so");
        Compile("-O2", "-shared", "-fPIC", "-DINJECT_LIB_SLEEP_MS=800", "-o", SlowLibrary, Source("inject_lib.c"));
        AllocatingLibrary = Path.Combine(_dir.FullName, "libinject_allocating.so");
        Compile("-O2", "-shared", "-fPIC", "-DINJECT_LIB_ALLOCATE=20000", "-o", AllocatingLibrary, Source("inject_lib.c"));
    }

    public string Folder => _dir.FullName;

    /// <summary>inject_target: THREADS STOPFILE.</summary>
    public string Target { get; }

    /// <summary>Writes "&lt;path&gt;.ran" (pid and tid) from its constructor.</summary>
    public string Library { get; }

    /// <summary>The same, its constructor sleeping 0.8 s after creating the file and before writing it.</summary>
    public string SlowLibrary { get; }

    /// <summary>The same, its constructor allocating and freeing 20,000 blocks above the per-thread cache first.</summary>
    public string AllocatingLibrary { get; }

    /// <summary>A copy of the library (or of <paramref name="of"/>) under another name (a distinct file: dlopen loads it anew).</summary>
    public string CopyOfLibrary(string name, string? of = null)
    {
        string path = Path.Combine(_dir.FullName, name);
        File.Copy(of ?? Library, path, overwrite: true);
        return path;
    }

    public static string? RanFile(string library) => File.Exists(library + ".ran") ? File.ReadAllText(library + ".ran") : null;

    static void Compile(params string[] args) => ProcessRunner.RunChecked("cc", ["-Wall", "-Wextra", "-Werror", .. args]);

    public void Dispose() => _dir.Delete(recursive: true);
}
