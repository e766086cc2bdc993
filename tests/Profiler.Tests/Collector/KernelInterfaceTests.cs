using System.Reflection;
using System.Runtime.CompilerServices;
using Google.Protobuf.Reflection;
using Profiler.Collectors.Linux.Bpf;
using Profiler.Core.Recording.Proto;
using Profiler.Symbols.Elf;

namespace Profiler.Tests.Collector;

/// <summary>collectors/bpf/memprof.h (with memprof_shared.h, which the preload library includes
/// too) is the one definition of the kernel interface; its C# mirrors and the recording's
/// AllocFunction are checked against it as clang compiled it: the BTF of the BPF object embedded
/// in the collector. A member or constant added, moved or renumbered on one side only fails
/// here, named.</summary>
public sealed class KernelInterfaceTests
{
    static readonly Lazy<BtfTypes> Btf = new(EmbeddedBtf);

    [Theory]
    [InlineData(typeof(BpfEventHeader), "memprof_event")]
    [InlineData(typeof(BpfConfig), "memprof_config")]
    [InlineData(typeof(BpfTotals), "memprof_totals")]
    public void Struct_mirror_lays_out_every_member_where_clang_does(Type mirror, string cStruct) =>
        AssertNone(MirrorCheck.Struct(Btf.Value.Struct(cStruct), mirror));

    [Theory]
    [InlineData(typeof(BpfFunction), "memprof_func", "MEMPROF_")]
    [InlineData(typeof(BpfCounter), "memprof_counter", "MEMPROF_COUNTER_")]
    [InlineData(typeof(BpfTarget), "memprof_target", "MEMPROF_TARGET_")]
    public void Enum_mirror_has_every_constant_with_its_value(Type mirror, string cEnum, string prefix) =>
        AssertNone(MirrorCheck.Enum(Btf.Value.Enum(cEnum), mirror, prefix));

    [Fact]
    public void Constants_equal_the_enum_constants_of_the_header()
    {
        AssertNone(MirrorCheck.Constants(Btf.Value.Enum("memprof_limit"), new Dictionary<string, (string, long)>
        {
            ["MEMPROF_MAX_FRAMES"] = C(BpfEventHeader.MaxFrames),
            ["MEMPROF_MAX_STACK_COPY"] = C(BpfEventHeader.MaxStackCopy),
            ["MEMPROF_GAP_TABLE_SIZE"] = C(BpfTracer.GapTableSize),
            ["MEMPROF_EVENT_HEADER_SIZE"] = C(BpfEventHeader.Size_),
        }));
        AssertNone(MirrorCheck.Constants(Btf.Value.Enum("memprof_event_flag"), new Dictionary<string, (string, long)>
        {
            ["MEMPROF_EVENT_NEW_SAMPLED"] = C(BpfEventHeader.NewSampled),
            ["MEMPROF_EVENT_OLD_SAMPLED"] = C(BpfEventHeader.OldSampled),
            ["MEMPROF_EVENT_STACK_COMPLETE"] = C(BpfEventHeader.StackComplete),
        }));
        AssertNone(MirrorCheck.Constants(Btf.Value.Enum("memprof_cookie"), new Dictionary<string, (string, long)>
        {
            ["MEMPROF_COOKIE_SP_OFFSET_MASK"] = C(BpfCookie.SpOffsetMask),
            ["MEMPROF_COOKIE_FUNC_SHIFT"] = C(BpfCookie.FunctionShift),
            ["MEMPROF_COOKIE_FUNC_MASK"] = C(BpfCookie.FunctionMask),
            ["MEMPROF_COOKIE_GLIBC"] = C(BpfCookie.Glibc),
        }));
    }

    /// <summary>What the BPF program reports but a recording never holds as a function: the
    /// recorder casts every other id to AllocFunction.</summary>
    static readonly string[] NotAllocationFunctions =
    [
        "EXEC", "EXIT", "FORK", "PROCESS_EXIT", "STACK", "PROF_LOOKUP", "PROF_MALLOC", "PROF_FREE",
        "LIBRARIES", "MARKER_ALLOC", "MARKER_FREE",
    ];

    /// <summary>AllocFunction values that are no memprof_func: the unset value and the model's own.</summary>
    static readonly string[] RecordingOnly = ["ALLOC_FUNCTION_UNSPECIFIED", "EXEC_RELEASE"];

    [Fact]
    public void AllocFunction_of_the_recording_is_the_allocation_functions_of_memprof_func()
    {
        // recording.proto's FREE_FUNCTION is memprof_func's MEMPROF_FREE.
        static string CName(string protoName) => "MEMPROF_" + (protoName == "FREE_FUNCTION" ? "FREE" : protoName);
        var kernel = Btf.Value.Enum("memprof_func").Values.ToDictionary(v => v.Name, v => v.Value);
        var recording = typeof(Profiler.Core.Recording.Proto.AllocFunction).GetFields(BindingFlags.Public | BindingFlags.Static)
            .ToDictionary(f => f.GetCustomAttribute<OriginalNameAttribute>()!.Name, f => (long)(int)f.GetValue(null)!);
        var problems = new List<string>();
        foreach (var (name, value) in recording.Where(r => !RecordingOnly.Contains(r.Key)))
        {
            if (!kernel.Remove(CName(name), out long c))
                problems.Add($"AllocFunction {name} = {value} has no constant {CName(name)} in memprof_func");
            else if (c != value)
                problems.Add($"AllocFunction {name} = {value}, {CName(name)} = {c}");
        }
        foreach (var name in NotAllocationFunctions.Select(n => "MEMPROF_" + n))
        {
            if (!kernel.Remove(name, out long value))
                problems.Add($"{name} (listed here as no allocation function) is not in memprof_func");
            else if (recording.FirstOrDefault(r => r.Value == value) is { Key: { } taken })
                problems.Add($"{name} = {value} is AllocFunction {taken} in a recording");
        }
        foreach (var (name, value) in kernel)
            problems.Add($"{name} = {value} of memprof_func is neither in AllocFunction nor listed here as no allocation function");
        AssertNone(problems);
    }

    [Fact]
    public void Every_memprof_type_the_object_describes_is_checked_here()
    {
        string[] checkedTypes = ["memprof_event", "memprof_config", "memprof_totals", "memprof_func", "memprof_counter",
            "memprof_target", "memprof_limit", "memprof_event_flag", "memprof_cookie",
            "memprof_enums"]; // memprof.bpf.c's holder of the enums above, no interface of its own
        var described = Btf.Value.StructNames.Concat(Btf.Value.Enums.Select(e => e.Name))
            .Where(n => n.StartsWith("memprof_", StringComparison.Ordinal));
        AssertNone(described.Except(checkedTypes).Select(n => $"{n} is in the BPF object's BTF but no test here checks its C# mirror"));
        AssertNone(checkedTypes.Except(described).Select(n => $"{n} is checked here but not in the BPF object's BTF"));
    }

    static (string Name, long Value) C(long value, [CallerArgumentExpression(nameof(value))] string name = "") => (name, value);

    static (string Name, long Value) C(ulong value, [CallerArgumentExpression(nameof(value))] string name = "") => (name, checked((long)value));

    static void AssertNone(IEnumerable<string> problems)
    {
        var list = problems.ToList();
        Assert.True(list.Count == 0, "The C# side disagrees with collectors/bpf/memprof.h (as compiled into memprof.bpf.o):\n  " +
                                     string.Join("\n  ", list));
    }

    static BtfTypes EmbeddedBtf()
    {
        using var resource = typeof(BpfTracer).Assembly.GetManifestResourceStream("memprof.bpf.o")
            ?? throw new InvalidOperationException("the collector embeds no memprof.bpf.o");
        string path = Path.Combine(Directory.CreateTempSubdirectory("memprof-btf").FullName, "memprof.bpf.o");
        try
        {
            using (var file = File.Create(path)) resource.CopyTo(file);
            using var elf = ElfFile.Open(path);
            return BtfTypes.Read(elf);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
        }
    }
}
