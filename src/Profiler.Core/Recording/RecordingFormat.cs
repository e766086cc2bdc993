namespace Profiler.Core.Recording;

public static class RecordingFormat
{
    /// <summary>Every recording starts with these bytes; the version lives in the header record.</summary>
    public static ReadOnlySpan<byte> Magic => "MEMPROF\n"u8;

    /// <summary>2: every record carries a CRC32C (<see cref="RecordFraming"/>); 1 is still read.</summary>
    public const uint Version = 2;

    public const string Extension = ".memprof";
}
