using Profiler.Collectors.Linux.Procfs;
using Profiler.Symbols.Elf;

namespace Profiler.Collectors.Linux.Inject;

/// <summary>An allocator function's entry in the target, where a thread holds none of the
/// allocator's locks yet.</summary>
/// <param name="FileOffset">Where the entry is in the allocator's file (where the probe goes).</param>
/// <param name="StepLength">The first instruction's length: the probe's signal stops the thread past it.</param>
/// <param name="StackDrop">How far that instruction moved the stack pointer down (a push: 8).</param>
public readonly record struct RemoteLoaderEntry(string Name, ulong Address, ulong FileOffset = 0, int StepLength = 0, ulong StackDrop = 0)
{
    /// <summary>The stack pointer the thread had at the entry, if it stands at it or just past its first instruction.</summary>
    public ulong? EntryStackPointer(ulong rip, ulong rsp) =>
        rip == Address ? rsp : StepLength > 0 && rip == Address + (ulong)StepLength ? rsp + StackDrop : null;
}

/// <summary>Everything the remote loader needs to know about the target before touching it.</summary>
/// <param name="DlOpen">dlopen's address in the target.</param>
/// <param name="DlError">dlerror's address in the target.</param>
/// <param name="Entries">The allocator entries a thread is caught at.</param>
/// <param name="Allocator">The file whose allocator the program calls (libc.so.6 unless another one is loaded).</param>
/// <param name="LockHolders">Files whose code may hold a lock the load also takes (libc, the dynamic
/// linker, the allocator): a call from them is not a safe point.</param>
/// <param name="StubAddress">Where the call's stub is written: the unused tail of an executable
/// segment's last page, which no code of the program ever runs.</param>
public sealed record RemoteLoaderPlan(
    ulong DlOpen,
    ulong DlError,
    IReadOnlyList<RemoteLoaderEntry> Entries,
    string Allocator,
    IReadOnlySet<string> LockHolders,
    ulong StubAddress);

/// <summary>Decides, from the target's maps and its files' symbols, how a library is loaded into
/// it: which dlopen, which allocator entries make safe points, where the stub goes.</summary>
public static class RemoteLoaderPlanner
{
    public const ulong PageSize = 4096;
    public static readonly string[] AllocatorEntryNames = ["malloc", "free", "calloc", "realloc"];

    /// <summary>The plan, or why the library cannot be loaded this way (one line).</summary>
    public static (RemoteLoaderPlan? Plan, string? Failure) Plan(
        IReadOnlyList<MapEntry> maps, IReadOnlyList<RemoteLoaderModule> modules, string executable, string library)
    {
        if (modules.FirstOrDefault(m => IsLibc(m.Path)) is not { } libc)
            return (null, IsStatic(maps, executable) ? "the program is statically linked (no dynamic linker to load a library)" : "the process has no glibc (libc.so.6) mapped");
        if (libc.Machine != RemoteLoaderModule.X86_64)
            return (null, $"the process is not an x86-64 one ({libc.FileName} is for ELF machine {libc.Machine})");
        var loader = modules.FirstOrDefault(m => IsDynamicLinker(m.Path));

        // glibc 2.34 moved dlopen into libc.so.6; before, it is in libdl.so.2 when the program links it.
        var dl = libc.Functions.ContainsKey("dlopen") ? libc : modules.FirstOrDefault(m => IsLibdl(m.Path) && m.Functions.ContainsKey("dlopen"));
        if (dl is null || !dl.Functions.TryGetValue("dlerror", out var dlerror))
            return (null, $"{libc.FileName} has no dlopen (glibc older than 2.34) and libdl.so.2 is not loaded");

        var allocator = AllocatorOf(modules, executable, library) ?? libc;
        var entries = new List<RemoteLoaderEntry>();
        foreach (var name in AllocatorEntryNames.Where(allocator.Functions.ContainsKey))
        {
            ulong at = allocator.Functions[name];
            // An entry whose first instruction jumps away or moves the stack unpredictably cannot be a catch point.
            if (allocator.FileOffsetOf(at) is not { } offset || allocator.Prologues?.GetValueOrDefault(name) is not { } code ||
                RemoteLoaderPrologue.FirstStep(code) is not { } step) continue;
            entries.Add(new RemoteLoaderEntry(name, allocator.Bias + at, offset, step.Length, step.StackDrop));
        }
        if (!allocator.Functions.ContainsKey("malloc"))
            return (null, $"{allocator.FileName} defines no malloc to catch a thread at");
        if (entries.Count == 0)
            return (null, $"no allocator entry of {allocator.FileName} begins with an instruction a probe can stop after");

        var holders = new HashSet<string>(StringComparer.Ordinal) { libc.Path };
        if (loader is not null) holders.Add(loader.Path);
        foreach (var m in modules.Where(m => IsLibdl(m.Path) || IsLibpthread(m.Path))) holders.Add(m.Path);
        if (allocator.Path != executable) holders.Add(allocator.Path);

        var candidates = new[] { libc, loader }.Concat(modules).OfType<RemoteLoaderModule>().Where(m => m.Path != library).Distinct();
        foreach (var module in candidates)
            if (StubSite(maps, module) is { } site)
                return (new RemoteLoaderPlan(dl.Bias + dl.Functions["dlopen"], dl.Bias + dlerror, entries, allocator.Path, holders, site), null);
        return (null, "no executable mapping has room for the loader's stub");
    }

    /// <summary>The module whose malloc the program's calls reach: the executable's own, else a
    /// library that brings one (libjemalloc, tcmalloc, mimalloc), else none (glibc's).</summary>
    static RemoteLoaderModule? AllocatorOf(IReadOnlyList<RemoteLoaderModule> modules, string executable, string library)
    {
        bool Defines(RemoteLoaderModule m) => m.Functions.ContainsKey("malloc") && m.Functions.ContainsKey("free");
        return modules.FirstOrDefault(m => m.Path == executable && Defines(m))
            ?? modules.FirstOrDefault(m => m.Path != executable && m.Path != library && !IsLibc(m.Path) && !IsDynamicLinker(m.Path) && Defines(m));
    }

    /// <summary>The 16-byte aligned start of the unused tail of one of the module's executable
    /// segments, when the tail is mapped executable, backed by the file, and holds a stub.</summary>
    public static ulong? StubSite(IReadOnlyList<MapEntry> maps, RemoteLoaderModule module)
    {
        foreach (var segment in module.Segments.Where(s => (s.Flags & ElfSegmentFlags.Execute) != 0))
        {
            ulong end = module.Bias + segment.VirtualAddress + segment.MemorySize;
            ulong start = (end + 15) & ~15UL;
            ulong pageEnd = (end + PageSize - 1) & ~(PageSize - 1);
            if (pageEnd < start || pageEnd - start < RemoteLoaderStub.MaxLength) continue;
            var mapping = maps.FirstOrDefault(m => m.Path == module.Path && m.IsExecutable && m.Start <= start && pageEnd <= m.End);
            if (mapping is null) continue;
            // A page that lies past the end of the file cannot be written (SIGBUS territory).
            if (mapping.FileOffset + (pageEnd - mapping.Start) > module.FileSize) continue;
            return start;
        }
        return null;
    }

    static bool IsStatic(IReadOnlyList<MapEntry> maps, string executable) =>
        !maps.Any(m => m.IsFile && m.Path != executable);

    public static bool IsLibc(string path) => Preload.PreloadLibrary.IsGlibcLibrary(path);

    public static bool IsDynamicLinker(string path)
    {
        string name = System.IO.Path.GetFileName(path);
        return name.StartsWith("ld-linux", StringComparison.Ordinal) || (name.StartsWith("ld-", StringComparison.Ordinal) && name.Contains(".so", StringComparison.Ordinal));
    }

    static bool IsLibdl(string path) => System.IO.Path.GetFileName(path).StartsWith("libdl.so", StringComparison.Ordinal);

    static bool IsLibpthread(string path) => System.IO.Path.GetFileName(path).StartsWith("libpthread.so", StringComparison.Ordinal);
}
