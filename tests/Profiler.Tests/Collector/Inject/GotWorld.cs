using Profiler.Collectors.Linux.Inject;
using Profiler.Collectors.Linux.Procfs;

namespace Profiler.Tests.Collector.Inject;

/// <summary>Processes made by hand: files with a layout of their own (headers, code with its PLT,
/// a RELRO page holding the GOT, data) mapped where a test puts them, and their memory.</summary>
sealed class GotWorld : IProcessMemory
{
    public const string App = "/usr/bin/app";
    public const string Libc = "/usr/lib/x86_64-linux-gnu/libc.so.6";
    public const string LibJemalloc = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2";
    public const string Loader = "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2";
    public const string Sampler = "/opt/memprof/libmemprof_preload.so";

    /// <summary>Link-time layout of every file here (relative to its first load address): code
    /// (with the PLT at 0x1000) in [0x1000, 0x2000), the GOT in [0x2000, 0x3000), data above.</summary>
    public const ulong Plt = 0x1000, Got = 0x2000, Data = 0x3000;

    public readonly List<MapEntry> Maps = [];
    public readonly Dictionary<string, GotImage> Images = [];
    public readonly Dictionary<ulong, ulong> Words = [];
    public readonly HashSet<ulong> Unwritable = [];
    public readonly List<(ulong Address, ulong Value)> Writes = [];
    /// <summary>Runs before every read: lets a test change a word as another thread would.</summary>
    public Action<ulong>? BeforeRead;

    /// <summary>A file with malloc-family references at GOT offsets and definitions at code offsets.</summary>
    /// <param name="symbolTable">Gives each export its st_value word in .dynsym (in the headers'
    /// page at <see cref="DynSym"/>, 24 bytes a symbol); without it the file has no section headers.</param>
    public static GotImage Image(string path, IEnumerable<(string Symbol, SlotKind Kind, ulong Offset)> references,
        IEnumerable<(string Symbol, ulong Offset)>? exports = null, ulong firstLoad = 0, string? version = null, bool symbolTable = false) =>
        new(path, firstLoad,
            [.. references.Select(r => new GotReference(GotFamily.Find(r.Symbol)!, r.Symbol, version, r.Kind,
                firstLoad + r.Offset, r.Offset))],
            [.. (exports ?? []).Select((e, i) => new GotExport(e.Symbol, firstLoad + e.Offset, IsDefault: true,
                symbolTable ? firstLoad + ValueWord(i) : null, symbolTable ? ValueWord(i) : null))]);

    /// <summary>Where .dynsym lies in every file here.</summary>
    public const ulong DynSym = 0x800;

    /// <summary>The file offset of the n-th export's st_value (symbol n + 1: entry 0 is the null symbol).</summary>
    public static ulong ValueWord(int n) => DynSym + (ulong)(n + 1) * 24 + 8;

    /// <summary>Maps the file's four segments at <paramref name="start"/> (its first page).</summary>
    public void Load(GotImage image, ulong start)
    {
        Images[image.Path] = image;
        Maps.Add(new MapEntry(start, start + Plt, "r--p", 0, image.Path));
        Maps.Add(new MapEntry(start + Plt, start + Got, "r-xp", Plt, image.Path));
        Maps.Add(new MapEntry(start + Got, start + Data, "r--p", Got, image.Path));
        Maps.Add(new MapEntry(start + Data, start + Data + 0x1000, "rw-p", Data, image.Path));
        Maps.Sort((a, b) => a.Start.CompareTo(b.Start));
    }

    /// <summary>The files the planner asked to read, in order.</summary>
    public readonly List<string> Opened = [];

    public GotPlan Plan(string? sampler = Sampler) =>
        GotPlanner.Plan(Maps, path => { Opened.Add(path); return Images.GetValueOrDefault(path); }, sampler);

    public bool TryRead(ulong address, Span<byte> buffer)
    {
        BeforeRead?.Invoke(address);
        if (buffer.Length != 8 || !Words.TryGetValue(address, out ulong value)) return false;
        BitConverter.TryWriteBytes(buffer, value);
        return true;
    }

    public bool TryWrite(ulong address, ReadOnlySpan<byte> data)
    {
        if (data.Length != 8 || Unwritable.Contains(address) || !Words.ContainsKey(address)) return false;
        Words[address] = BitConverter.ToUInt64(data);
        Writes.Add((address, Words[address]));
        return true;
    }
}
