using Profiler.Symbols.Elf;

namespace Profiler.Collectors.Linux.Inject;

/// <summary>A file mapped into the target, as the remote loader needs it: where it is loaded,
/// its load segments, and the link-time addresses of the functions it looks for.</summary>
/// <param name="Bias">What to add to a link-time address to get the address in the target.</param>
/// <param name="FileSize">The file's length: a page past its end cannot be written in the target.</param>
/// <param name="Functions">Defined functions by name (dlopen, dlerror, malloc, free, calloc, realloc).</param>
/// <param name="Machine">e_machine (62: x86-64).</param>
/// <param name="Prologues">The first bytes of the allocator functions, as in the file (in memory, a
/// probe's breakpoint may stand on the first one).</param>
public sealed record RemoteLoaderModule(
    string Path,
    ulong Bias,
    ulong FileSize,
    IReadOnlyList<ElfSegment> Segments,
    IReadOnlyDictionary<string, ulong> Functions,
    ushort Machine = RemoteLoaderModule.X86_64,
    IReadOnlyDictionary<string, byte[]>? Prologues = null)
{
    public const ushort X86_64 = 62;
    public const int PrologueLength = 16;

    /// <summary>Where the byte at link-time address <paramref name="address"/> is in the file, if it is in it.</summary>
    public ulong? FileOffsetOf(ulong address) =>
        Segments.FirstOrDefault(s => s.VirtualAddress <= address && address < s.VirtualAddress + s.FileSize) is { } segment
            ? segment.FileOffset + (address - segment.VirtualAddress)
            : null;

    /// <summary>The names the planner asks modules for.</summary>
    public static readonly IReadOnlySet<string> WantedFunctions =
        new HashSet<string>(["dlopen", "dlerror", .. RemoteLoaderPlanner.AllocatorEntryNames], StringComparer.Ordinal);

    public string FileName => System.IO.Path.GetFileName(Path);

    /// <summary>Builds the description from the file's symbols and the maps' first mapping of it.</summary>
    /// <param name="read">Reads the file's bytes at an offset (null past its end).</param>
    public static RemoteLoaderModule? From(string path, ulong firstMappingStart, ulong fileSize, ushort machine, IReadOnlyList<ElfSegment> segments, IEnumerable<ElfSymbol> symbols,
        Func<ulong, int, byte[]?>? read = null)
    {
        if (segments.Count == 0) return null;
        ulong firstPage = segments.Min(s => s.VirtualAddress) & ~(RemoteLoaderPlanner.PageSize - 1);
        var functions = new Dictionary<string, ulong>(StringComparer.Ordinal);
        foreach (var s in symbols)
        {
            if (!s.IsDefined || s.Type != ElfSymbolType.Func || s.Binding == ElfSymbolBinding.Local || s.IsHiddenVersion) continue;
            string name = s.Name.Split('@')[0];
            if (WantedFunctions.Contains(name)) functions.TryAdd(name, s.Value);
        }
        var module = new RemoteLoaderModule(path, firstMappingStart - firstPage, fileSize, segments, functions, machine);
        if (read is null) return module;
        var prologues = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var name in RemoteLoaderPlanner.AllocatorEntryNames)
            if (functions.TryGetValue(name, out var at) && module.FileOffsetOf(at) is { } offset && read(offset, PrologueLength) is { } bytes)
                prologues[name] = bytes;
        return module with { Prologues = prologues };
    }
}
