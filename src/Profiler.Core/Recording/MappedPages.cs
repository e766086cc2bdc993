using System.Runtime.InteropServices;

namespace Profiler.Core.Recording;

/// <summary>
/// Gives back the pages of a mapped recording already read. A mapping's pages count in the
/// process's resident memory once touched, so reading a 300 MB recording front to back would
/// hold 300 MB; dropped, they are read again from the OS's file cache if ever needed.
/// </summary>
static unsafe partial class MappedPages
{
    /// <summary>How much is read between two releases.</summary>
    public const long Window = 16L << 20;
    const int DontNeed = 4; // MADV_DONTNEED

    /// <summary>Releases the whole pages in [<paramref name="start"/>, <paramref name="end"/>) of a read-only mapping.</summary>
    public static void Release(byte* start, byte* end)
    {
        if (!OperatingSystem.IsLinux()) return;
        long page = Environment.SystemPageSize;
        long from = ((long)start + page - 1) / page * page;
        long to = (long)end / page * page;
        // A failure only leaves the pages where they were: nothing to report.
        if (to > from) _ = Madvise((nint)from, (nuint)(to - from), DontNeed);
    }

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(nint address, nuint length, int advice);
}
