using System.Runtime.InteropServices;

namespace DotnetSample;

/// <summary>The Rust cdylib (librustlib.so beside the program), called through source-generated P/Invoke.</summary>
static partial class RustLib
{
    const string Library = "rustlib";

    [LibraryImport(Library, EntryPoint = "rustlib_leak")]
    internal static partial nuint Leak(uint count, nuint size);

    [LibraryImport(Library, EntryPoint = "rustlib_churn")]
    internal static partial ulong Churn(nuint size);

    [LibraryImport(Library, EntryPoint = "rustlib_peak")]
    internal static partial ulong Peak(uint count, nuint size);
}
