namespace Profiler.Collectors.Linux.DotNet;

/// <summary>A file the runtime appends to while memprof reads it (the perf map, the jitdump):
/// read from where the last read ended, and deleted once copied.</summary>
static class AppendedFile
{
    /// <summary>The bytes past <paramref name="offset"/> (empty: none yet, or no file).</summary>
    public static byte[] ReadFrom(string path, long offset)
    {
        if (!File.Exists(path)) return [];
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        if (stream.Length <= offset) return [];
        stream.Seek(offset, SeekOrigin.Begin);
        var bytes = new byte[stream.Length - offset];
        int read = stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
        return read == bytes.Length ? bytes : bytes[..read];
    }

    public static void Delete(string path)
    {
        try { File.Delete(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { /* left for the system's /tmp cleaning */ }
    }
}
