using System.Text.RegularExpressions;
using Perftools.Profiles;
using Profiler.Core.Model;

namespace Profiler.Export.Pprof;

/// <summary>
/// pprof mappings for the model's modules. Locations carry link-time addresses (load bias 0: what
/// addr2line takes), the same in every process, so one profile serves all recorded processes.
/// A module whose segments are known gets one mapping per segment its locations fall in, laid out
/// as the kernel would map that segment at bias 0; otherwise one mapping spans its addresses with
/// file offset = address, since the symbolization pass names frames of unreadable files by offset.
/// </summary>
sealed partial class MappingTable(CallTreeTables tables, StringTable strings, Func<ModuleInfo, IReadOnlyList<ModuleSegment>?> segmentsOf)
{
    const ulong PageSize = 4096;

    readonly Dictionary<int, IReadOnlyList<ModuleSegment>?> _segments = [];
    readonly Dictionary<(int Module, int Segment), Mapping> _mappings = [];
    readonly List<(Mapping Mapping, ModuleId Module)> _order = [];
    readonly List<(Location Location, Mapping Mapping)> _users = [];

    /// <summary>Attaches <paramref name="location"/> (address and lines already set) to its module's mapping.</summary>
    public void Attach(Location location, ModuleId module, bool hasFileNames)
    {
        var segments = SegmentsOf(module);
        int segment = -1;
        if (segments is not null)
            for (int i = 0; i < segments.Count && segment < 0; i++)
                if (segments[i].Contains(location.Address)) segment = i;

        if (!_mappings.TryGetValue((module.Index, segment), out var mapping))
        {
            var info = tables.Module(module);
            mapping = new Mapping { Filename = strings.Intern(info.Path), BuildId = strings.Intern(info.BuildId), HasFunctions = true };
            if (segment >= 0)
            {
                var s = segments![segment];
                mapping.MemoryStart = s.VirtualAddress & ~(PageSize - 1);
                mapping.MemoryLimit = RoundUp(s.VirtualAddress + s.MemorySize);
                mapping.FileOffset = s.FileOffset & ~(PageSize - 1);
            }
            else
            {
                mapping.MemoryStart = location.Address & ~(PageSize - 1);
                mapping.MemoryLimit = RoundUp(location.Address + 1);
                mapping.FileOffset = mapping.MemoryStart;
            }
            _mappings[(module.Index, segment)] = mapping;
            _order.Add((mapping, module));
        }
        else if (segment < 0)
        {
            mapping.MemoryStart = Math.Min(mapping.MemoryStart, location.Address & ~(PageSize - 1));
            mapping.MemoryLimit = Math.Max(mapping.MemoryLimit, RoundUp(location.Address + 1));
            mapping.FileOffset = mapping.MemoryStart;
        }

        mapping.HasFilenames |= hasFileNames;
        mapping.HasLineNumbers |= location.Line.Any(l => l.Line_ > 0);
        mapping.HasInlineFrames |= location.Line.Count > 1;
        _users.Add((location, mapping));
    }

    /// <summary>Numbers the mappings, the main binary first as profile.proto asks, adds them to
    /// <paramref name="profile"/> and points the attached locations at them.</summary>
    public void AddTo(Profile profile)
    {
        // pprof's own guess: the first mapped file that is neither a shared library nor a pseudo-file.
        int main = _order.FindIndex(m => IsMainBinaryCandidate(tables.Module(m.Module).Path));
        var ordered = main <= 0 ? _order : [_order[main], .. _order.Where((_, i) => i != main)];
        ulong id = 1;
        foreach (var (mapping, _) in ordered)
        {
            mapping.Id = id++;
            profile.Mapping.Add(mapping);
        }
        foreach (var (location, mapping) in _users) location.MappingId = mapping.Id;
    }

    IReadOnlyList<ModuleSegment>? SegmentsOf(ModuleId module)
    {
        if (!_segments.TryGetValue(module.Index, out var segments))
            _segments[module.Index] = segments = segmentsOf(tables.Module(module));
        return segments;
    }

    static bool IsMainBinaryCandidate(string path) =>
        path.Length > 0 && !path.StartsWith('[') && !SharedLibrary().IsMatch(Path.GetFileName(path));

    static ulong RoundUp(ulong address) => address > ulong.MaxValue - PageSize ? ulong.MaxValue : (address + PageSize - 1) & ~(PageSize - 1);

    [GeneratedRegex(@"\.so($|[._][0-9])")]
    private static partial Regex SharedLibrary();
}
