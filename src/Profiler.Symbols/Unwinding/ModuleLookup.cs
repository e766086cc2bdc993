using Profiler.Core.Model;

namespace Profiler.Symbols.Unwinding;

/// <summary>Which executable file mapping of the sampled process holds an address.</summary>
public interface IModuleLookup
{
    /// <summary>The executable mapping containing <paramref name="address"/>, or null. Returning the
    /// same instance for the same mapping each time lets the unwinder cache per mapping.</summary>
    MappedModule? Find(ulong address);
}

/// <summary>An <see cref="IModuleLookup"/> over a fixed set of executable mappings (binary search).</summary>
public sealed class SortedModuleLookup : IModuleLookup
{
    private readonly MappedModule[] _modules;
    private readonly ulong[] _starts;

    public SortedModuleLookup(IEnumerable<MappedModule> executableMappings)
    {
        _modules = [.. executableMappings.OrderBy(m => m.Start)];
        _starts = Array.ConvertAll(_modules, m => m.Start);
    }

    public IReadOnlyList<MappedModule> Modules => _modules;

    public MappedModule? Find(ulong address)
    {
        int index = Array.BinarySearch(_starts, address);
        if (index < 0)
            index = ~index - 1;
        return index >= 0 && address < _modules[index].End ? _modules[index] : null;
    }
}
