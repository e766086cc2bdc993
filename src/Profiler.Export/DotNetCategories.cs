using Profiler.Core.Model;
using Profiler.Firefox;

namespace Profiler.Export;

/// <summary>The Firefox categories of a .NET process's frames: its JIT-compiled (managed) methods,
/// and the runtime's own native libraries, each added to the profile only when a frame needs it.</summary>
sealed class DotNetCategories(ProfileBuilder builder)
{
    /// <summary>The native libraries of the .NET runtime and its host.</summary>
    static readonly HashSet<string> RuntimeLibraries = new(StringComparer.Ordinal)
    {
        "libcoreclr.so", "libclrjit.so", "libhostfxr.so", "libhostpolicy.so", "libSystem.Native.so",
        "libcoreclrtraceptprovider.so", "libmscordaccore.so", "libmscordbi.so", "libclrgc.so", "libclrgcexp.so",
    };

    CategoryId? _managed, _runtime;

    public CategoryId Managed => _managed ??= builder.AddCategory(".NET (managed)", CategoryColor.Green);

    /// <summary>The category of a native frame in this module (null: the default, Native).</summary>
    public CategoryId? Of(string? modulePath) =>
        modulePath is not null && RuntimeLibraries.Contains(Path.GetFileName(modulePath))
            ? _runtime ??= builder.AddCategory(".NET runtime", CategoryColor.Purple)
            : null;
}
