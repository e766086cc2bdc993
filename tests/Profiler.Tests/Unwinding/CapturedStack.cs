using System.Text.Json;
using Profiler.Collectors.Linux.Procfs;
using Profiler.Core.Model;
using Profiler.Symbols.Elf;
using Profiler.Symbols.Unwinding;

namespace Profiler.Tests.Unwinding;

/// <summary>A frame of gdb's backtrace. Type is gdb's frame type (gdb.INLINE_FRAME = 2,
/// gdb.TAILCALL_FRAME = 3, gdb.SIGTRAMP_FRAME = 4); ReturnSlot is where gdb found the frame's
/// return address (the next frame's pc), when it was saved on the stack.</summary>
public sealed record GdbFrame(ulong Pc, int Type, string Name, ulong? ReturnSlot)
{
    /// <summary>Inline frames share their caller's pc, and tail-call frames are reconstructed from
    /// DWARF call-site information: neither has a return address of its own on the stack.</summary>
    public bool IsPhysical => Type is not (2 or 3);
}

/// <summary>What a sample carries (registers, stack copy, the process's mappings) plus gdb's
/// backtrace at the same instant.</summary>
public sealed class CapturedStack
{
    public required IReadOnlyDictionary<string, ulong> Registers { get; init; }
    public required ulong StackAddress { get; init; }
    public required byte[] Stack { get; init; }
    public required string Maps { get; init; }
    public required IReadOnlyList<GdbFrame> Frames { get; init; }
    /// <summary>gdb reached the outermost frame (rather than stopping on an error).</summary>
    public required bool Outermost { get; init; }
    public required string StopReason { get; init; }
    /// <summary>The instructions stepped over after the last stop's location (its SkipInstructions).</summary>
    public required IReadOnlyList<string> SkippedInstructions { get; init; }

    /// <summary>The pcs of gdb's backtrace with one entry per frame on the machine stack.</summary>
    public IReadOnlyList<GdbFrame> PhysicalFrames => [.. Frames.Where(f => f.IsPhysical)];

    public static CapturedStack Parse(string json, byte[] stack)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        return new CapturedStack
        {
            Registers = root.GetProperty("registers").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetUInt64()),
            StackAddress = root.GetProperty("stack_address").GetUInt64(),
            Stack = stack,
            Maps = root.GetProperty("maps").GetString()!,
            Frames = [.. root.GetProperty("frames").EnumerateArray().Select(f => new GdbFrame(
                f.GetProperty("pc").GetUInt64(), f.GetProperty("type").GetInt32(), f.GetProperty("name").GetString()!,
                f.GetProperty("return_slot").ValueKind == JsonValueKind.Null ? null : f.GetProperty("return_slot").GetUInt64()))],
            Outermost = root.GetProperty("outermost").GetBoolean(),
            StopReason = root.GetProperty("stop_reason").GetString()!,
            SkippedInstructions = [.. root.GetProperty("skipped").EnumerateArray().Select(i => i.GetString()!)],
        };
    }

    /// <summary>The registers memprof's BPF program captures: rip, rsp, rbp, and optionally
    /// rbx and r12–r15.</summary>
    public UnwindRegisters SampledRegisters(bool withCalleeSaved)
    {
        var registers = new UnwindRegisters(Registers["rip"], Registers["rsp"], Registers["rbp"]);
        return withCalleeSaved
            ? registers.WithCalleeSaved(Registers["rbx"], Registers["r12"], Registers["r13"], Registers["r14"], Registers["r15"])
            : registers;
    }

    /// <summary>The executable file mappings, as memprof's collector records them.</summary>
    public IReadOnlyList<MappedModule> ExecutableModules()
    {
        var buildIds = new Dictionary<string, string>();
        return [.. ProcMaps.Parse(Maps).Where(m => m.IsFile && m.IsExecutable).Select(m =>
        {
            if (!buildIds.TryGetValue(m.Path, out var buildId))
            {
                using var elf = ElfFile.Open(m.Path);
                buildIds[m.Path] = buildId = elf.BuildId ?? "";
            }
            return new MappedModule(m.Path, buildId, m.Start, m.End, m.FileOffset);
        })];
    }

    /// <summary>The mapping named <paramref name="name"/> (e.g. "[uprobes]" or "[stack]"), if any.</summary>
    public (ulong Start, ulong End)? Mapping(string name) =>
        ProcMaps.Parse(Maps).FirstOrDefault(m => m.Path == name) is { } m ? (m.Start, m.End) : null;
}
