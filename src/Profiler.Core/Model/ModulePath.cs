namespace Profiler.Core.Model;

/// <summary>What a recorded module path says about the system it was recorded on.</summary>
public static class ModulePath
{
    /// <summary>A path recorded on Windows, whatever system reads the recording: a drive letter
    /// (<c>C:\…\x.dll</c>), a UNC path (<c>\\server\…</c>) or an NT path ETW could not map to a
    /// drive (<c>\Device\HarddiskVolume3\…</c>, <c>\SystemRoot\…</c>). Unix module paths are
    /// absolute (<c>/…</c>) or pseudo-mappings (<c>[vdso]</c>).</summary>
    public static bool IsWindows(string path) => path.Length > 2 && (path[1] == ':' || path[0] == '\\');
}
