namespace Profiler.Collectors.Linux.Inject;

/// <summary>One process's memory, read and written by address (/proc/PID/mem in the shell, an
/// array in tests).</summary>
public interface IProcessMemory
{
    /// <summary>False when the range is unmapped or the process is gone.</summary>
    bool TryRead(ulong address, Span<byte> buffer);
    /// <summary>Writes even read-only pages (as a debugger does); false when it cannot.</summary>
    bool TryWrite(ulong address, ReadOnlySpan<byte> data);
}

public static class ProcessMemoryExtensions
{
    public static ulong? ReadWord(this IProcessMemory memory, ulong address)
    {
        Span<byte> bytes = stackalloc byte[8];
        return memory.TryRead(address, bytes) ? BitConverter.ToUInt64(bytes) : null;
    }

    public static bool WriteWord(this IProcessMemory memory, ulong address, ulong value)
    {
        Span<byte> bytes = stackalloc byte[8];
        BitConverter.TryWriteBytes(bytes, value);
        return memory.TryWrite(address, bytes);
    }
}
