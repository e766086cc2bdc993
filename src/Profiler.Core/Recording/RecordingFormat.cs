namespace Profiler.Core.Recording;

public static class RecordingFormat
{
    /// <summary>Every recording starts with these bytes; the version lives in the header record.</summary>
    public static ReadOnlySpan<byte> Magic => "MEMPROF\n"u8;

    public const uint Version = 1;

    public const string Extension = ".memprof";
}
