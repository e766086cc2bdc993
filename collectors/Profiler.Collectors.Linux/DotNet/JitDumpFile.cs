using System.Buffers.Binary;
using System.Text;
using Profiler.Core.Recording.Proto;

namespace Profiler.Collectors.Linux.DotNet;

/// <summary>
/// Reads the precompiled (ReadyToRun) methods out of a .NET runtime's jitdump (<c>/tmp/jit-PID.dump</c>,
/// Linux perf's jitdump format: a header, then records, each a code load with its address, size
/// and name) a little at a time: each read returns the records completed since the last one.
/// The runtime's perf map never lists precompiled code; its jitdump does, as each method's code is
/// first used (its name then ends in <c>[PreJIT]</c>, or <c>[PreJit-cold]</c> for a cold part).
/// Everything else in the jitdump is in the perf map too, so only those are taken.
/// </summary>
public sealed class JitDumpFile(string path)
{
    const uint Magic = 0x4A695444; // "JiTD", written in the runtime's byte order (little-endian here)
    const int HeaderPrefixBytes = 12; // magic, version, header size
    const int RecordPrefixBytes = 16; // id, total size, timestamp
    const uint CodeLoad = 0;
    /// <summary>A code load's fixed fields after the record prefix: pid, tid, vma, code address, size, index.</summary>
    const int CodeLoadFieldsBytes = 40;

    long _offset;
    bool _unreadable;

    public string Path { get; } = path;

    public static string For(int pid) => $"/tmp/jit-{pid}.dump";

    public bool Exists => File.Exists(Path);

    public void Delete() => AppendedFile.Delete(Path);

    /// <summary>The precompiled methods logged since the last call (a record still being written waits).</summary>
    public List<JitSymbol> ReadNew()
    {
        var symbols = new List<JitSymbol>();
        if (_unreadable) return symbols;
        var bytes = AppendedFile.ReadFrom(Path, _offset);
        if (bytes.Length == 0) return symbols;
        _offset += Parse(bytes, _offset == 0, symbols, out _unreadable);
        return symbols;
    }

    /// <summary>Parses the whole records in <paramref name="bytes"/> (the file's start when
    /// <paramref name="atStart"/>): how many bytes they took. <paramref name="unreadable"/>: not a
    /// jitdump of this byte order, or a record that cannot be (its size too small).</summary>
    public static int Parse(ReadOnlySpan<byte> bytes, bool atStart, List<JitSymbol> symbols, out bool unreadable)
    {
        unreadable = false;
        int at = 0;
        if (atStart)
        {
            if (bytes.Length < HeaderPrefixBytes) return 0;
            uint headerBytes = BinaryPrimitives.ReadUInt32LittleEndian(bytes[8..]);
            if (BinaryPrimitives.ReadUInt32LittleEndian(bytes) != Magic || headerBytes < HeaderPrefixBytes)
            {
                unreadable = true;
                return 0;
            }
            if (bytes.Length < headerBytes) return 0;
            at = (int)headerBytes;
        }
        while (bytes.Length - at >= RecordPrefixBytes)
        {
            var record = bytes[at..];
            uint id = BinaryPrimitives.ReadUInt32LittleEndian(record);
            uint size = BinaryPrimitives.ReadUInt32LittleEndian(record[4..]);
            if (size < RecordPrefixBytes)
            {
                unreadable = true;
                break;
            }
            if (record.Length < size) break;
            if (id == CodeLoad && CodeLoadSymbol(record[..(int)size]) is { } symbol) symbols.Add(symbol);
            at += (int)size;
        }
        return at;
    }

    /// <summary>A code load of precompiled code, or null (JIT-compiled code, a stub, a malformed record).</summary>
    static JitSymbol? CodeLoadSymbol(ReadOnlySpan<byte> record)
    {
        var fields = record[RecordPrefixBytes..];
        if (fields.Length < CodeLoadFieldsBytes) return null;
        ulong address = BinaryPrimitives.ReadUInt64LittleEndian(fields[16..]);
        ulong size = BinaryPrimitives.ReadUInt64LittleEndian(fields[24..]);
        var rest = fields[CodeLoadFieldsBytes..];
        int end = rest.IndexOf((byte)0);
        if (end < 0) return null;
        string name = Encoding.UTF8.GetString(rest[..end]);
        if (!IsPrecompiled(name)) return null;
        return new JitSymbol { Start = address, Size = size, Name = name };
    }

    /// <summary>The runtime marks precompiled code so with its optimization tiers shown
    /// (DOTNET_PerfMapShowOptimizationTiers, on by default).</summary>
    public static bool IsPrecompiled(string name) =>
        name.EndsWith("[PreJIT]", StringComparison.Ordinal) || name.EndsWith("[PreJit-cold]", StringComparison.Ordinal);
}
