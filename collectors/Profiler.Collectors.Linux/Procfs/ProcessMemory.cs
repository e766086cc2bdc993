namespace Profiler.Collectors.Linux.Procfs;

/// <summary>Reading a traced process's memory.</summary>
public static class ProcessMemory
{
    /// <summary>Fills the buffer from the process's memory; false when the process is gone or the range unmapped.</summary>
    public static bool TryRead(int pid, ulong address, Span<byte> buffer)
    {
        try
        {
            using var mem = new FileStream($"/proc/{pid}/mem", FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0);
            mem.Position = (long)address;
            mem.ReadExactly(buffer);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or EndOfStreamException) { return false; }
    }
}
