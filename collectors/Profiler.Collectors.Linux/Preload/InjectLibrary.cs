using System.Buffers.Binary;
using Profiler.Collectors.Linux.Probes;

namespace Profiler.Collectors.Linux.Preload;

/// <summary>What an allocator's forwarding table is (enum memprof_allocator_kind): how the library
/// learns usable sizes and the live heap to start from.</summary>
public enum ForwardKind : uint
{
    None = 0,
    /// <summary>Usable sizes from glibc's chunk headers; live heap from <c>mallinfo2</c>.</summary>
    Glibc = 1,
    /// <summary>Usable sizes from <c>malloc_usable_size</c>; live heap from <c>mallctl("stats.allocated")</c>.</summary>
    Jemalloc = 2,
    /// <summary>Usable sizes from <c>malloc_usable_size</c> if given; no live heap.</summary>
    Other = 3,
}

/// <summary>One allocator's functions in the target, as its GOT slots pointed at them before memprof
/// redirected them: <see cref="Functions"/> by <see cref="AllocatorApi"/> symbol ("malloc",
/// "sdallocx", …); those missing stay null (calls to them fail, they never crash).</summary>
public sealed record ForwardTable(ForwardKind Kind, IReadOnlyDictionary<string, ulong> Functions, ulong UsableSize = 0,
    ulong Mallinfo2 = 0, ulong Mallctl = 0);

/// <summary>A write into the target's memory, at an offset from memprof_preload_state.</summary>
public readonly record struct StateWrite(int Offset, ulong Value);

/// <summary>
/// The injectable sampler (collectors/preload/memprof_inject.c): dlopen'ed into a running process,
/// it exports memprof_preload_state like the launch library, and the entry points of four
/// forwarding tables, memprof_inject&lt;k&gt;_&lt;function&gt;, to point the program's GOT slots at.
/// The writes that attach it are pure: <see cref="FillTable"/> before any slot points at table k,
/// then <see cref="Request"/> (rate, then generation). The library applies the request at its next
/// allocation call (counting from the live heap it counted), or at once when memprof calls
/// <see cref="ApplySymbol"/> at a safe point, which also takes the base from the allocators.
/// </summary>
public static class InjectLibrary
{
    public const string FileName = "libmemprof_inject.so";
    /// <summary>uint64_t memprof_preload_apply(void), for a remote call at a safe point: carries a
    /// pending request out and restarts counting with the allocators' live heap as the base;
    /// returns the generation applied, 0 when it could not run.</summary>
    public const string ApplySymbol = "memprof_preload_apply";

    /// <summary>The functions of a table, in the order of its pointers (struct memprof_forward_table).</summary>
    public static readonly IReadOnlyList<string> Functions = AllocatorApi.Functions.Select(f => f.Symbol).ToList();

    /// <summary>Built beside memprof's own assemblies; null when missing (a build without a C compiler).</summary>
    public static string? Locate()
    {
        string path = Path.Combine(AppContext.BaseDirectory, FileName);
        return File.Exists(path) ? path : null;
    }

    /// <summary>The entry point a slot of <paramref name="function"/> is pointed at to go through table <paramref name="table"/>.</summary>
    public static string EntryPoint(int table, string function)
    {
        if (table < 0 || table >= PreloadState.Tables) throw new ArgumentOutOfRangeException(nameof(table));
        if (!Functions.Contains(function)) throw new ArgumentException($"{function} has no entry point", nameof(function));
        return $"memprof_inject{table}_{function}";
    }

    public static int TableOffset(int table) => PreloadState.TablesOffset + table * PreloadState.TableSize;

    /// <summary>Every pointer, then the kind: the library treats a table as filled once its kind
    /// is set, and a table in use must never be written again.</summary>
    public static IReadOnlyList<StateWrite> FillTable(int table, ForwardTable functions)
    {
        if (functions.Kind == ForwardKind.None) throw new ArgumentException("a filled table has a kind", nameof(functions));
        int at = TableOffset(table);
        var writes = new List<StateWrite>();
        for (int i = 0; i < Functions.Count; i++)
            writes.Add(new(at + 8 + 8 * i, functions.Functions.GetValueOrDefault(Functions[i])));
        int helpers = at + 8 + 8 * Functions.Count;
        writes.Add(new(helpers, functions.UsableSize));
        writes.Add(new(helpers + 8, functions.Mallinfo2));
        writes.Add(new(helpers + 16, functions.Mallctl));
        writes.Add(new(at, (ulong)functions.Kind)); // kind (u32) and reserved (0)
        return writes;
    }

    /// <summary>The rate of the request written before the slots are patched: so large that no
    /// allocation is sampled (a gap drawn at it is past 2^60 bytes, and still fits the library's
    /// signed countdown), while the request empties the address set of an earlier attach. The
    /// recording's own rate is requested once the markers are probed: sampled at the recording's
    /// rate before that, a block's allocation would go unrecorded and its free be recorded
    /// unpaired, and a sample's event would precede the counters' start.</summary>
    public const ulong NotSampling = 1UL << 56;

    /// <summary>Asks for a new recording's rate (0 keeps the rate in effect): the rate first, then a
    /// generation the library has not applied. Once applied, the counters start at zero, the base is
    /// the allocators' live heap, and no earlier sample is remembered.</summary>
    public static IReadOnlyList<StateWrite> Request(PreloadHeader current, ulong rateBytes)
    {
        if (!current.CanBeReset)
            throw new Core.ProfilerException(Core.ExitCode.CollectorFailed,
                $"the process carries memprof's sampler from an older memprof (state version {current.Version}), which cannot be given another rate");
        ulong generation = Math.Max(current.AppliedGeneration, current.RequestedGeneration) + 1;
        return [new(PreloadState.RequestedRateOffset, rateBytes), new(PreloadState.RequestedGenerationOffset, generation)];
    }

    /// <summary>Whether the request the writes made has been carried out at that rate.</summary>
    public static bool Applied(PreloadHeader now, IReadOnlyList<StateWrite> request) =>
        now.AppliedGeneration == request[1].Value && (request[0].Value == 0 || now.Rate == request[0].Value);

    /// <summary>struct memprof_inject_rings (memprof_preload.h): the shared rings memprof asks an
    /// injected sampler to write its events into, and what became of the request.</summary>
    public const string RingsSymbol = "memprof_inject_rings";
    /// <summary>uint64_t memprof_inject_switch_rings(void), for a remote call at a safe point: carries
    /// out the rings request alone (at the detach: off), leaving the counters alone.</summary>
    public const string SwitchRingsSymbol = "memprof_inject_switch_rings";
    public const int RingsRequestedOffset = 0, RingsAppliedOffset = 8, RingsStatusOffset = 16, RingsPathOffset = 32, RingsPathBytes = 96, RingsSize = 128;
    public const long RingsOn = 1, RingsOff = 0, RingsNotRings = -10000, RingsBusy = -10001;

    /// <summary>The path field of a rings request (null: none, the rings off), zero-padded; null when
    /// the path does not fit.</summary>
    public static byte[]? RingsPath(string? path)
    {
        var bytes = new byte[RingsPathBytes];
        if (path is null) return bytes;
        int length = System.Text.Encoding.UTF8.GetBytes(path, bytes);
        return length < RingsPathBytes ? bytes : null;
    }

    /// <summary>Why the library did not take the rings (null: it writes into them), from the status it wrote.</summary>
    public static string? RingsRefusal(long status) => status switch
    {
        RingsOn => null,
        RingsNotRings => "the library found no rings of its version at the path",
        RingsBusy => "a thread of the process stayed inside an earlier recording's rings",
        < 0 and > -4096 => $"the library could not map them ({Native.ErrorText((int)-status)})",
        _ => $"the library answered {status}",
    };

    /// <summary>The bytes of one write, little-endian (what goes to /proc/PID/mem).</summary>
    public static byte[] Bytes(StateWrite write)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, write.Value);
        return bytes;
    }
}
