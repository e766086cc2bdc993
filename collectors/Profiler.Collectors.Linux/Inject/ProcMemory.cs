using Profiler.Core;
using Microsoft.Win32.SafeHandles;

namespace Profiler.Collectors.Linux.Inject;

/// <summary>/proc/PID/mem, opened once. Its writes go through read-only pages (RELRO, text) the
/// way ptrace's do (FOLL_FORCE), which needs ptrace rights over the process (root here).</summary>
public sealed class ProcMemory : IProcessMemory, IDisposable
{
    readonly SafeFileHandle _handle;

    ProcMemory(SafeFileHandle handle) => _handle = handle;

    /// <exception cref="ProfilerException">The process is gone or its memory may not be written.</exception>
    public static ProcMemory Open(int pid)
    {
        try { return new ProcMemory(File.OpenHandle($"/proc/{pid}/mem", FileMode.Open, FileAccess.ReadWrite)); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ProfilerException(ExitCode.TargetNotFound, $"process {pid} is gone");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ProfilerException(ExitCode.PermissionDenied, $"cannot write the memory of process {pid}: {e.Message}");
        }
    }

    public bool TryRead(ulong address, Span<byte> buffer)
    {
        try { return address <= long.MaxValue && RandomAccess.Read(_handle, buffer, (long)address) == buffer.Length; }
        catch (IOException) { return false; }
    }

    public bool TryWrite(ulong address, ReadOnlySpan<byte> data)
    {
        if (address > long.MaxValue) return false;
        try { RandomAccess.Write(_handle, data, (long)address); return true; }
        catch (IOException) { return false; }
    }

    public void Dispose() => _handle.Dispose();
}
