using Profiler.Symbols.Elf;

namespace Profiler.Collectors.Linux.Session;

/// <summary>Why a launched command's first image cannot sample in-process.</summary>
/// <param name="PassOn">The library still goes into the environment for the programs the command
/// runs: the image ignores it (statically linked, not ELF) or loads it and forwards every call to
/// the malloc of a library it links (libjemalloc.so). False for an executable that defines malloc
/// itself, whose calls would never reach the library while its own entry points are probed.</param>
public sealed record PreloadUnfit(string Reason, bool PassOn);

/// <summary>The image the kernel really runs for a command: a script runs its #! interpreter
/// (itself perhaps a script), and that interpreter is what takes LD_PRELOAD.</summary>
public static class LaunchImage
{
    /// <summary>Levels of #! the kernel follows (binfmt_script's limit is 4 nested interpreters).</summary>
    const int MaxInterpreters = 4;

    /// <summary>The ELF file exec ends up running for path (path itself when it is no script, or
    /// when an interpreter cannot be read: exec reports that).</summary>
    public static string Resolve(string path)
    {
        string current = path;
        for (int level = 0; level < MaxInterpreters && Interpreter(current) is { } next; level++) current = next;
        return current;
    }

    /// <summary>The interpreter a #! line names, resolved against the file system; null when the
    /// file is no script.</summary>
    public static string? Interpreter(string path)
    {
        string line;
        try
        {
            using var reader = new StreamReader(path, System.Text.Encoding.Latin1);
            var buffer = new char[256];
            int read = reader.ReadBlock(buffer, 0, buffer.Length);
            line = new string(buffer, 0, read).Split('\n')[0];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
        if (!line.StartsWith("#!", StringComparison.Ordinal)) return null;
        var words = line[2..].Trim().Split([' ', '\t'], 2, StringSplitOptions.RemoveEmptyEntries);
        return words.Length == 0 || !File.Exists(words[0]) ? null : words[0];
    }

    /// <summary>Why the preload library cannot serve the command at executable (null: it can),
    /// judged on the image exec runs; <paramref name="unsuitable"/> is the library's own check of
    /// an ELF image (static, own malloc, a linked library's malloc).</summary>
    public static PreloadUnfit? PreloadFit(string executable, Func<string, string?> unsuitable)
    {
        string image = Resolve(executable);
        if (unsuitable(image) is not { } reason) return null;
        if (image != executable) reason = $"{reason}, the interpreter of {Path.GetFileName(executable)}";
        return new PreloadUnfit(reason, PassOn: !DefinesMalloc(image));
    }

    static bool DefinesMalloc(string path)
    {
        if (!ElfFile.TryOpen(path, out var elf, out _)) return false;
        using (elf)
            return elf.FindSection(".interp") is not null && elf.ReadSymbols().Any(s =>
                s.IsDefined && s.Type == ElfSymbolType.Func && s.Binding != ElfSymbolBinding.Local &&
                (s.Name == "malloc" || s.Name.StartsWith("malloc@", StringComparison.Ordinal)));
    }
}
