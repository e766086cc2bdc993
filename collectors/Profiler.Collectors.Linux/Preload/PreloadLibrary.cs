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
    /// linker loads preloads only into dynamically linked programs, and a malloc the executable
    /// defines itself comes before the library's. Another library's allocator (libjemalloc.so,
    /// tcmalloc, one preloaded by the user) is sampled through when it has free, calloc and realloc
    /// of its own (<see cref="SampledThrough"/>); one without them keeps every call.</summary>
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
        foreach (var library in LookupOrder(interpreter, executable, userPreload))
        {
            if (!ElfFile.TryOpen(library, out var lib, out _)) continue;
            using (lib)
                if (DefinesMalloc(lib) && !IsWholeAllocator(lib)) return $"{System.IO.Path.GetFileName(library)} brings its own malloc";
        }
        return null;
    }

    /// <summary>The library whose allocator the preload library samples through (the first after
    /// it in lookup order to define malloc, free, calloc and realloc), or null: glibc's.</summary>
    public static string? SampledThrough(string executable, string? userPreload)
    {
        if (!ElfFile.TryOpen(executable, out var elf, out _)) return null;
        string interpreter;
        using (elf)
        {
            if (elf.FindSection(".interp") is not { } interp) return null;
            interpreter = System.Text.Encoding.ASCII.GetString(elf.ReadSection(interp)).TrimEnd('\0');
        }
        foreach (var library in LookupOrder(interpreter, executable, userPreload))
        {
            if (!ElfFile.TryOpen(library, out var lib, out _)) continue;
            using (lib)
                if (DefinesMalloc(lib)) return IsWholeAllocator(lib) ? library : null;
        }
        return null;
    }

    /// <summary>The libraries after the preload library in lookup order, glibc's left out: the
    /// user's preloads, then what the executable links.</summary>
    static IEnumerable<string> LookupOrder(string interpreter, string executable, string? userPreload)
    {
        var libraries = (userPreload ?? "").Split([':', ' '], StringSplitOptions.RemoveEmptyEntries).ToList();
        libraries.AddRange(LoadedLibraries(interpreter, executable));
        return libraries.Where(l => !IsGlibcLibrary(l));
    }

    /// <summary>The names the preload library needs from an allocator to sample through it (the
    /// rest of the family, where missing, fails its call rather than reach another allocator).</summary>
    public static readonly IReadOnlyList<string> WholeAllocator = ["malloc", "free", "calloc", "realloc"];

    static bool IsWholeAllocator(ElfFile elf)
    {
        var defined = elf.ReadSymbols().Where(s => s.IsDefined && s.Type == ElfSymbolType.Func && s.Binding != ElfSymbolBinding.Local)
            .Select(s => s.Name.Split('@')[0]).ToHashSet();
        return WholeAllocator.All(defined.Contains);
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
    /// (it maps them without running any of the program's code). Asked up to three times while
    /// a launch is prepared: the answer is kept while the executable is unchanged.</summary>
    static IReadOnlyList<string> LoadedLibraries(string interpreter, string executable)
    {
        var file = new System.IO.FileInfo(executable);
        var key = (interpreter, executable, file.Exists ? file.LastWriteTimeUtc.Ticks : 0, file.Exists ? file.Length : 0);
        return LoadedBefore.GetOrAdd(key, _ => ListLoadedLibraries(interpreter, executable));
    }

    static readonly System.Collections.Concurrent.ConcurrentDictionary<(string, string, long, long), IReadOnlyList<string>> LoadedBefore = new();

    static IReadOnlyList<string> ListLoadedLibraries(string interpreter, string executable)
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
