using Profiler.Symbols.Elf;

namespace Profiler.Collectors.Linux.Preload;

/// <summary>The in-process sampler (collectors/preload): where it is, what a launched command's
/// environment needs for it, and which programs it can serve.</summary>
public static class PreloadLibrary
{
    public const string FileName = "libmemprof_preload.so";
    public const string RateVariable = "MEMPROF_PRELOAD_RATE";
    public const string AllocMarker = "memprof_preload_sampled_alloc";
    public const string FreeMarker = "memprof_preload_sampled_free";
    public const string StateSymbol = "memprof_preload_state";

    /// <summary>Built beside memprof's own assemblies; null when missing (a build without a C compiler).</summary>
    public static string? Locate()
    {
        string path = System.IO.Path.Combine(AppContext.BaseDirectory, FileName);
        return File.Exists(path) ? path : null;
    }

    /// <summary>LD_PRELOAD (ahead of any the user set), the sampling rate and the shared rings'
    /// path (null: events go to the markers).</summary>
    public static Dictionary<string, string> Environment(string library, ulong rateBytes, string? existingPreload, string? ringPath = null)
    {
        var environment = new Dictionary<string, string>
        {
            ["LD_PRELOAD"] = string.IsNullOrEmpty(existingPreload) ? library : library + ":" + existingPreload,
            [RateVariable] = Math.Max(1, rateBytes).ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        if (ringPath is not null) environment[Ring.RingLayout.EnvironmentVariable] = ringPath;
        return environment;
    }

    /// <summary>Why the library cannot serve this executable, or null when it can: the dynamic
    /// linker loads preloads only into dynamically linked programs, and the library forwards to
    /// glibc's allocator, so a program that links another malloc (libjemalloc.so, tcmalloc, a
    /// malloc of its own, or one preloaded by the user) must keep it.</summary>
    public static string? Unsuitable(string executable, string? userPreload)
    {
        string name = System.IO.Path.GetFileName(executable);
        string interpreter;
        if (!ElfFile.TryOpen(executable, out var elf, out var error)) return $"{name} is not an ELF file ({error})";
        using (elf)
        {
            if (elf.FindSection(".interp") is not { } interp) return $"{name} is statically linked";
            interpreter = System.Text.Encoding.ASCII.GetString(elf.ReadSection(interp)).TrimEnd('\0');
            if (DefinesMalloc(elf)) return $"{name} defines its own malloc";
        }
        var libraries = (userPreload ?? "").Split([':', ' '], StringSplitOptions.RemoveEmptyEntries).ToList();
        libraries.AddRange(LoadedLibraries(interpreter, executable));
        foreach (var library in libraries.Where(l => !IsGlibcLibrary(l)))
        {
            if (!ElfFile.TryOpen(library, out var lib, out _)) continue;
            using (lib)
                if (DefinesMalloc(lib)) return $"{System.IO.Path.GetFileName(library)} brings its own malloc";
        }
        return null;
    }

    static bool DefinesMalloc(ElfFile elf) =>
        elf.ReadSymbols().Any(s => s.IsDefined && s.Type == ElfSymbolType.Func && s.Binding != ElfSymbolBinding.Local &&
                                   (s.Name == "malloc" || s.Name.StartsWith("malloc@", StringComparison.Ordinal)));

    /// <summary>The libraries a dynamically linked executable loads (none for any other file).</summary>
    public static IEnumerable<string> LinkedLibraries(string executable)
    {
        if (!ElfFile.TryOpen(executable, out var elf, out _)) return [];
        string interpreter;
        using (elf)
        {
            if (elf.FindSection(".interp") is not { } interp) return [];
            interpreter = System.Text.Encoding.ASCII.GetString(elf.ReadSection(interp)).TrimEnd('\0');
        }
        return LoadedLibraries(interpreter, executable);
    }

    /// <summary>The libraries the dynamic linker would load, as `ld.so --list` resolves them
    /// (it maps them without running any of the program's code).</summary>
    static IEnumerable<string> LoadedLibraries(string interpreter, string executable)
    {
        var psi = new System.Diagnostics.ProcessStartInfo(interpreter) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("--list");
        psi.ArgumentList.Add(executable);
        System.Diagnostics.Process? process;
        try { process = System.Diagnostics.Process.Start(psi); }
        catch (System.ComponentModel.Win32Exception) { return []; }
        if (process is null) return [];
        using (process)
        {
            string output = process.StandardOutput.ReadToEnd();
            process.WaitForExit(5000);
            return output.Split('\n')
                .Select(line => line.Split("=>", 2))
                .Where(parts => parts.Length == 2)
                .Select(parts => parts[1].Trim().Split(' ')[0])
                .Where(path => path.StartsWith('/'))
                .ToList();
        }
    }

    /// <summary>glibc's C library, whose malloc family the preload library interposes.</summary>
    public static bool IsGlibcLibrary(string path)
    {
        string name = System.IO.Path.GetFileName(path);
        return name.StartsWith("libc.so", StringComparison.Ordinal) || (name.StartsWith("libc-", StringComparison.Ordinal) && name.EndsWith(".so", StringComparison.Ordinal));
    }
}
